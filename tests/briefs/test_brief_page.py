"""The admin's brief page shows what was made: players, thumbnails, a transcript and an SOP
whose times seek the player, readable documents and downloads; or what it is waiting for."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from briefs import sops
from briefs.models import Artifact, Brief, Transcript
from briefs.services import brief_start
from tests.support.media import make_video

pytestmark = pytest.mark.django_db


def artifact(brief, kind, name, content_type, body=None, document=None):
    stored = (
        default_storage.save(f"briefs/generated/{brief.pk}/{name}", ContentFile(body))
        if body
        else ""
    )
    return Artifact.objects.create(
        brief=brief,
        kind=kind,
        name=name,
        content_type=content_type,
        size=len(body or b""),
        file=stored,
        document=document,
        step="test",
    )


def download(a):
    return reverse("api:download_output", kwargs={"artifact_id": a.pk})


def test_a_brief_with_results_shows_them(admin_client, admin_user):
    brief = Brief.objects.create(owner=admin_user, title="Demo", query="q", media_type="video")
    slim = artifact(brief, "slim_video", "demo-slim.mp4", "video/mp4", b"v" * 100)
    made = artifact(brief, "video", "generated.mp4", "video/mp4", b"g" * 50)
    image = artifact(brief, "image", "keyframe-1.png", "image/png", b"\x89PNG")
    voice = artifact(brief, "narration", "narration.mp3", "audio/mpeg", b"ID3")
    analysis = artifact(
        brief,
        "analysis",
        "analysis.json",
        "application/json",
        document={"analysis": {"summary": "A <short> teaser", "key_points": ["fast", "clear"]}},
    )
    transcript = Transcript.objects.create(
        brief=brief,
        model="m",
        prompt_version="p",
        segments=[{"start": 3.5, "end": 5, "kind": "speech", "text": "Press start"}],
    )
    data = {
        "title": "Start it",
        "purpose": "",
        "prerequisites": [],
        "steps": [
            {
                "number": 1,
                "title": "Press start",
                "actions": ["Press"],
                "tools": [],
                "start": 3.5,
                "end": 5,
            }
        ],
    }
    sops.sop_record_extraction(
        brief=brief, transcript=transcript, job=None, data=data, model="m", prompt_version="p"
    )

    html = admin_client.get(reverse("admin:briefs_brief_change", args=[brief.pk])).content.decode()

    # the slim copy plays first (the transcript's and SOP's times are into it)
    assert (
        '<video id="brief-player" controls preload="metadata" width="640"\n'
        f'             src="{download(slim)}">' in html
    )
    assert f'data-play="{download(made)}"' in html
    assert f'<img src="{download(image)}" alt="keyframe-1.png"' in html
    assert f'<audio controls preload="metadata" src="{download(voice)}">' in html
    assert 'class="seek" data-seek="3.5">00:03</a></td><td>Press start</td>' in html
    assert 'data-seek="3.5">00:03–00:05</a>' in html
    assert '<dt>Summary</dt><dd><span class="brief-text">A &lt;short&gt; teaser</span></dd>' in html
    assert '<li><span class="brief-text">fast</span></li>' in html
    assert f'href="{download(analysis)}"' in html
    assert "/media/" not in html
    response = admin_client.get(download(slim), HTTP_RANGE="bytes=0-9")
    assert response.status_code == 206 and b"".join(response.streaming_content) == b"v" * 10


def test_a_brief_says_what_it_is_waiting_for(admin_client, admin_user):
    brief = Brief.objects.create(owner=admin_user, title="Text", query="q", media_type="text")
    url = reverse("admin:briefs_brief_change", args=[brief.pk])
    assert (
        "Nothing made yet: the brief has not been started" in admin_client.get(url).content.decode()
    )
    brief_start(brief=brief, use_pipeline=True)
    html = admin_client.get(url).content.decode()
    assert "Waiting for analysis (job #" in html and "queued, 0%" in html


def test_uploaded_files_are_listed_with_checked_download_links(admin_client, admin_user, tmp_path):
    from briefs.services import asset_store_upload

    raw = make_video(tmp_path / "raw.mp4", seconds=1, size="160x90").read_bytes()
    video = asset_store_upload(owner=admin_user, file=ContentFile(raw, name="raw.mp4"))
    brief = Brief.objects.create(
        owner=admin_user, title="Raw", query="q", media_type="video", assets=[video]
    )
    html = admin_client.get(reverse("admin:briefs_brief_change", args=[brief.pk])).content.decode()
    url = reverse("api:download_asset", kwargs={"brief_id": brief.pk, "index": 0})
    assert f'<a href="{url}" class="brief-download">raw.mp4</a>' in html
    assert f'src="{url}"' in html  # no output yet: the uploaded video plays
