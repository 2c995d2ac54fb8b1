"""Uploads (issue 11, holes 8 and 9's size bounds): a body over the limit is refused before it
is read, long multibyte names are fine, a per-user quota, and uploads no brief uses are
deleted after a day."""

from __future__ import annotations

import contextlib
import socket
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from api.models import ApiToken
from briefs.models import Brief, Upload
from tests.api.conftest import ApiClient
from tests.support.media import make_video

MB = 1024 * 1024


def files_in(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


@pytest.mark.django_db(transaction=True)
def test_a_200_mb_body_is_refused_before_it_is_read(live_server, settings, tmp_path, alice):
    """Over real HTTP: the answer (413) comes after the headers and 1 MB of body; the server
    reads no further and writes nothing to disk."""
    settings.BRIEFS_ASSET_MAX_BYTES = 1 * MB
    spool = tmp_path / "spool"
    spool.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    settings.MEDIA_ROOT = str(tmp_path / "media")
    _, raw = ApiToken.objects.create_token(user=alice, name="t")
    host, port = live_server.url.removeprefix("http://").split(":")
    boundary = "xyzzy"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    length = 200 * MB
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(
            (
                "POST /api/uploads HTTP/1.1\r\n"
                f"Host: {host}\r\nAuthorization: Bearer {raw}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
            ).encode()
            + head
        )
        sent = len(head)
        answer = b""
        conn.settimeout(0.2)
        chunk = b"\0" * (64 * 1024)
        while sent < 2 * MB and not answer:  # keep sending, as a client would, until answered
            try:
                conn.sendall(chunk)
                sent += len(chunk)
            except OSError:
                break
            with contextlib.suppress(TimeoutError):
                answer = conn.recv(65536)
        conn.settimeout(10)
        deadline = time.monotonic() + 10
        while b"too_large" not in answer and time.monotonic() < deadline:
            try:
                more = conn.recv(65536)
            except OSError:
                break
            if not more:
                break
            answer += more
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"too_large" in answer
    assert sent < 3 * MB  # answered long before the 200 MB
    assert files_in(spool) == [] and not Upload.objects.exists()
    assert not Path(settings.MEDIA_ROOT).exists() or files_in(Path(settings.MEDIA_ROOT)) == []


@pytest.mark.django_db
def test_an_upload_handler_stops_at_the_limit_when_the_length_lies(settings, alice, tmp_path):
    """A body whose Content-Length is not checked first (the handler's own safety net)."""
    from django.core.exceptions import RequestDataTooBig

    from api.limits import ENVELOPE_BYTES, LimitedUploadHandler

    settings.BRIEFS_ASSET_MAX_BYTES = 1000
    handler = LimitedUploadHandler()
    part = b"x" * ((1000 + ENVELOPE_BYTES) // 2)
    assert handler.receive_data_chunk(part, 0) == part
    with pytest.raises(RequestDataTooBig):
        handler.receive_data_chunk(part + b"xx", len(part))


@pytest.mark.django_db
def test_a_file_just_over_the_limit_is_refused_by_name_not_dropped(settings, as_alice, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.BRIEFS_ASSET_MAX_BYTES = 10
    response = as_alice.client.post(
        "/api/uploads", {"file": SimpleUploadedFile("big.txt", b"x" * 11)}, headers=as_alice.headers
    )
    assert response.status_code == 413, response.content
    assert "The file is 11 bytes; the limit is 10 bytes." in response.json()["message"]
    assert not Upload.objects.exists()


@pytest.mark.django_db
def test_a_long_multibyte_file_name_is_stored_under_our_name(as_alice, tmp_path):
    name = "видео-" * 60 + "🎬" * 40 + ".txt"  # about 1,300 bytes of UTF-8
    response = as_alice.client.post(
        "/api/uploads",
        {"file": SimpleUploadedFile(name, "текст".encode())},
        headers=as_alice.headers,
    )
    assert response.status_code == 201, response.content
    asset = response.json()
    assert asset["file"].endswith("/text.txt") and len(asset["name"].encode()) <= 150
    created = as_alice.post(
        "/api/briefs", {"title": "T", "query": "Q", "media_type": "text", "assets": [asset]}
    )
    assert created.status_code == 201, created.content


@pytest.mark.django_db
def test_the_storage_quota_is_per_user(settings, as_alice, as_bob, tmp_path):
    settings.BRIEFS_UPLOAD_QUOTA_BYTES = 25
    ten = SimpleUploadedFile("a.txt", b"0123456789")
    for _ in range(2):
        ten.seek(0)
        assert (
            as_alice.client.post(
                "/api/uploads", {"file": ten}, headers=as_alice.headers
            ).status_code
            == 201
        )
    ten.seek(0)
    refused = as_alice.client.post("/api/uploads", {"file": ten}, headers=as_alice.headers)
    assert refused.status_code == 413
    assert refused.json()["error"] == "quota_exceeded" and "25 bytes" in refused.json()["message"]
    assert Upload.objects.filter(owner=as_alice.user).count() == 2
    ten.seek(0)
    assert (
        as_bob.client.post("/api/uploads", {"file": ten}, headers=as_bob.headers).status_code == 201
    )


@pytest.mark.django_db
def test_uploads_no_brief_uses_are_deleted_after_a_day(alice, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    client = ApiClient(alice)
    video = make_video(tmp_path / "v.mp4", seconds=1, size="64x48").read_bytes()

    def upload() -> dict:
        response = client.client.post(
            "/api/uploads", {"file": SimpleUploadedFile("v.mp4", video)}, headers=client.headers
        )
        assert response.status_code == 201
        return response.json()

    used, unused, recent = upload(), upload(), upload()
    created = client.post(
        "/api/briefs", {"title": "T", "query": "Q", "media_type": "video", "assets": [used]}
    )
    assert created.status_code == 201
    day_ago = timezone.now() - timedelta(hours=25)
    Upload.objects.filter(name__in=[used["file"], unused["file"]]).update(created_at=day_ago)

    out = StringIO()
    call_command("prune_uploads", stdout=out)

    assert "Deleted 1 " in out.getvalue()
    assert not default_storage.exists(unused["file"])
    assert default_storage.exists(used["file"]) and default_storage.exists(recent["file"])
    assert set(Upload.objects.values_list("name", flat=True)) == {used["file"], recent["file"]}
    assert Brief.objects.get().assets[0]["file"] == used["file"]


def test_the_prune_command_checks_its_option():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("prune_uploads", "--hours", "soon")
