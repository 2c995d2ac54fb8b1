"""Issue 11, hole 7: no error a user can see shows the server's paths or memory addresses.

Many things are made to fail as a normal user (uploads of the wrong kind, briefs naming files
that are gone, broken or a playlist, a file that became a folder, bad URLs), through the API
and real workers with real ffmpeg; then every error that user can read through the API is
scanned for MEDIA_ROOT, BASE_DIR, the temp folder and ``0x…`` addresses. Staff still read the
full text in the admin."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from jobs.models import Job
from tests.api.conftest import ApiClient
from tests.support.media import make_video

ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")


def leaks(text: str) -> list[str]:
    found = [m.group(0) for m in ADDRESS.finditer(text)]
    for root in (settings.MEDIA_ROOT, str(settings.BASE_DIR), tempfile.gettempdir()):
        if root and str(root) in text:
            found.append(str(root))
    return found


class Recorder:
    """An API client that keeps every answer it got."""

    def __init__(self, user: Any) -> None:
        self.api = ApiClient(user)
        self.seen: list[str] = []

    def post(self, path: str, body: Any = None) -> Any:
        response = self.api.post(path, body)
        self.seen.append(response.content.decode(errors="replace"))
        return response

    def get(self, path: str, **params: Any) -> Any:
        response = self.api.get(path, **params)
        self.seen.append(response.content.decode(errors="replace"))
        return response

    def upload(self, name: str, data: bytes, kind: str | None = None) -> Any:
        fields: dict[str, Any] = {"file": SimpleUploadedFile(name, data)}
        if kind:
            fields["kind"] = kind
        response = self.api.client.post("/api/uploads", fields, headers=self.api.headers)
        self.seen.append(response.content.decode(errors="replace"))
        return response


def brief(client: Recorder, media_type: str, asset: dict[str, Any], sop: bool = False) -> int:
    body: dict[str, Any] = {"title": "T", "query": "Q", "media_type": media_type, "assets": [asset]}
    if not sop:
        body["use_pipeline"] = True
    response = client.post("/api/briefs", body)
    assert response.status_code == 201, response.content
    brief_id = response.json()["id"]
    if sop:
        assert client.post(f"/api/briefs/{brief_id}/sop").status_code == 202
    return brief_id


@pytest.mark.django_db(transaction=True)
def test_no_error_a_user_sees_shows_server_paths_or_addresses(alice, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.OPENAI_API_KEY = ""
    settings.BRIEFS_ALLOW_PRIVATE_URLS = False
    settings.MAX_JOBS_PER_USER = 0
    client = Recorder(alice)
    video = make_video(tmp_path / "v.mp4", seconds=1, size="64x48").read_bytes()

    # Uploads refused at once.
    client.upload("list.mp4", b"#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n", "video")
    client.upload("x.png", b"GIF89a garbage", "image")
    client.upload("x.txt", b"\x00\x01\x02", "text")
    client.upload("empty.mp4", b"", "video")
    client.upload("x.bin", b"?")
    # Briefs refused at once.
    client.post(
        "/api/briefs",
        {
            "title": "T",
            "query": "Q",
            "media_type": "video",
            "assets": [{"file": f"briefs/uploads/{alice.pk}/nope/video.mp4"}],
        },
    )
    client.post(
        "/api/briefs",
        {
            "title": "T",
            "query": "Q",
            "media_type": "image",
            "assets": [{"url": "http://example.com:99999/a.png"}],
        },
    )
    client.post(
        "/api/briefs",
        {
            "title": "T",
            "query": "Q",
            "media_type": "image",
            "assets": [{"url": "http://127.0.0.1/a.png"}],
        },
    )

    # Briefs whose files go wrong after they were accepted.
    def uploaded(name: str, data: bytes, kind: str) -> dict[str, Any]:
        response = client.upload(name, data, kind)
        assert response.status_code == 201, response.content
        return response.json()

    gone = uploaded("gone.mp4", video, "video")
    brief(client, "video", gone, sop=True)
    default_storage.delete(gone["file"])

    broken = uploaded("broken.mp4", video, "video")
    brief(client, "video", broken, sop=True)
    Path(default_storage.path(broken["file"])).write_bytes(b"no longer a video" * 50)

    playlist = uploaded("playlist.mp4", video, "video")
    brief(client, "video", playlist, sop=True)
    Path(default_storage.path(playlist["file"])).write_text(
        f"#EXTM3U\n#EXTINF:1,\nfile://{default_storage.path(gone['file'])}\n#EXT-X-ENDLIST\n"
    )

    folder = uploaded("notes.txt", b"some notes", "text")
    brief(client, "text", folder)
    path = Path(default_storage.path(folder["file"]))
    path.unlink()
    path.mkdir()  # reading it raises IsADirectoryError, naming the full path

    call_command("runworker", "--burst", "--concurrency", "1", "--poll-interval", "0.05")

    # Everything the user can read now.
    jobs = client.get("/api/jobs", limit=200).json()["jobs"]
    assert any(job["status"] == "failed" for job in jobs)
    for job in jobs:
        client.get(f"/api/jobs/{job['id']}")
    for row in client.get("/api/briefs").json()["briefs"]:
        client.get(f"/api/briefs/{row['id']}")

    found = {text[:300]: leaks(text) for text in client.seen if leaks(text)}
    assert found == {}
    # … while staff still have the detail.
    errors = " ".join(Job.objects.values_list("error", flat=True))
    assert settings.MEDIA_ROOT in errors
    shutil.rmtree(tmp_path / "media", ignore_errors=True)
