"""SOP versions and exports through the API: owner and staff read them, anyone else gets 404."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.files.storage import default_storage

from briefs import sops
from briefs.models import Brief, Transcript
from tests.support.media import make_video

pytestmark = pytest.mark.django_db

STEP = {
    "number": 1,
    "title": "Open the app",
    "actions": ["Tap it"],
    "tools": [],
    "start": 1.0,
    "end": 2.0,
}
DATA = {"title": "Log in", "purpose": "Get in.", "prerequisites": [], "steps": [STEP]}


@pytest.fixture
def reviewer(django_user_model):
    user = django_user_model.objects.create_user("rita", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["change_sop", "review_sop"]))
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def sop(alice):
    brief = Brief.objects.create(owner=alice, title="Video", query="q", media_type="video")
    transcript = Transcript.objects.create(
        brief=brief,
        segments=[{"start": 1, "end": 2, "kind": "speech", "text": "Tap the app"}],
        model="m",
        prompt_version="p",
    )
    return sops.sop_record_extraction(
        brief=brief, transcript=transcript, job=None, data=DATA, model="m", prompt_version="p"
    )


def test_the_api_serves_the_approved_version_and_the_latest_on_request(as_alice, sop, reviewer):
    sops.sop_move(sop=sop, move="submit", by=reviewer)
    sops.sop_move(sop=sop, move="approve", by=reviewer)
    sops.sop_save_version(sop=sop, data=DATA | {"title": "Log in (edited)"}, author=reviewer)

    default = as_alice.get(f"/api/sops/{sop.pk}").json()
    latest = as_alice.get(f"/api/sops/{sop.pk}", version="latest").json()
    first = as_alice.get(f"/api/sops/{sop.pk}", version="1").json()

    assert (default["title"], default["version"], default["review_state"]) == (
        "Log in",
        1,
        "approved",
    )
    assert (latest["title"], latest["version"], latest["review_state"]) == (
        "Log in (edited)",
        2,
        "draft",
    )
    assert default["approved_version"] == latest["approved_version"] == 1
    assert default["latest_version"] == 2 and first["version"] == 1
    brief = as_alice.get(f"/api/briefs/{sop.brief_id}").json()
    assert brief["sop"]["version"] == 1
    assert as_alice.get(f"/api/sops/{sop.pk}", version="7").status_code == 404
    assert as_alice.get(f"/api/sops/{sop.pk}", version="newest").status_code == 422


def test_without_an_approved_version_the_latest_is_served_as_draft(as_alice, sop):
    body = as_alice.get(f"/api/sops/{sop.pk}").json()
    assert (body["version"], body["review_state"], body["approved_version"]) == (1, "draft", None)


@pytest.mark.parametrize(
    ("fmt", "content_type", "starts"),
    [
        ("md", "text/markdown", b"# Log in"),
        ("html", "text/html", b"<!DOCTYPE html>"),
        ("pdf", "application/pdf", b"%PDF"),
    ],
)
def test_sop_export(as_alice, sop, fmt, content_type, starts):
    response = as_alice.get(f"/api/sops/{sop.pk}/export", format=fmt)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    assert response["Content-Disposition"] == f'attachment; filename="log-in-v1.{fmt}"'
    assert response.content.startswith(starts)


@pytest.mark.parametrize(
    ("fmt", "starts"), [("vtt", b"WEBVTT"), ("srt", b"1\n00:00:01,000"), ("txt", b"[00:01] Tap")]
)
def test_transcript_export(as_alice, sop, fmt, starts):
    response = as_alice.get(f"/api/transcripts/{sop.transcript_id}/export", format=fmt)
    assert response.status_code == 200
    assert response.content.startswith(starts)


def test_exports_are_private_and_refuse_bad_formats(as_alice, as_bob, as_staff, sop):
    urls = [f"/api/sops/{sop.pk}/export?format={f}" for f in ("md", "html", "pdf")]
    urls += [
        f"/api/transcripts/{sop.transcript_id}/export?format={f}" for f in ("vtt", "srt", "txt")
    ]
    for url in urls:
        assert as_bob.client.get(url, headers=as_bob.headers).status_code == 404, url
        assert as_staff.client.get(url, headers=as_staff.headers).status_code == 200, url
    for url in (
        f"/api/sops/{sop.pk}/export?format=docx",
        f"/api/transcripts/{sop.transcript_id}/export?format=pdf",
        f"/api/sops/{sop.pk}/export",
    ):
        response = as_alice.client.get(url, headers=as_alice.headers)
        assert response.status_code == 422, url
        assert "format" in response.json()["message"] + str(response.json()["fields"])


@pytest.fixture
def brief_with_files(alice, settings, tmp_path):
    from django.core.files.base import ContentFile

    from briefs.services import asset_store_upload

    settings.MEDIA_ROOT = str(tmp_path / "media")
    raw = make_video(tmp_path / "demo.mp4", seconds=1, size="160x90").read_bytes()
    video = asset_store_upload(owner=alice, file=ContentFile(raw, name="demo.mp4"))
    return Brief.objects.create(
        owner=alice,
        title="Files",
        query="q",
        media_type="video",
        assets=[video, {"kind": "image", "url": "https://example.com/a.png", "name": "a.png"}],
    )


def test_uploaded_assets_download_with_ranges_for_owner_and_staff_only(
    as_alice, as_bob, as_staff, brief_with_files
):
    url = f"/api/briefs/{brief_with_files.pk}/assets/0/download"
    raw = default_storage.open(brief_with_files.assets[0]["file"]).read()
    whole = as_alice.get(url)
    assert whole.status_code == 200 and b"".join(whole.streaming_content) == raw
    assert whole["Content-Disposition"] == 'attachment; filename="demo.mp4"'
    assert whole["Accept-Ranges"] == "bytes"
    part = as_alice.client.get(url, headers=as_alice.headers | {"Range": "bytes=10-14"})
    assert part.status_code == 206 and b"".join(part.streaming_content) == raw[10:15]
    assert part["Content-Range"] == f"bytes 10-14/{len(raw)}"
    beyond = f"bytes={len(raw)}-"
    outside = as_alice.client.get(url, headers=as_alice.headers | {"Range": beyond})
    assert outside.status_code == 416
    assert as_staff.get(url).status_code == 200
    assert as_bob.get(url).status_code == 404
    for other in ("1", "2", "999"):  # a URL asset, past the end
        assert as_alice.get(url.replace("/0/", f"/{other}/")).status_code == 404
