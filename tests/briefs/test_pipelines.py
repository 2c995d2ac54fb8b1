"""Each media type's pipeline through a real worker, against the fake OpenAI server."""

from __future__ import annotations

import json
import subprocess

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from briefs.models import Brief
from briefs.services import asset_store_upload, brief_create, brief_start
from briefs.spend import selectors
from jobs.models import Job
from tests.briefs.conftest import ffmpeg


def run_worker() -> None:
    call_command("runworker", "--burst", "--concurrency", "2", "--poll-interval", "0.05")


def results(brief: Brief) -> dict:
    return {job.type: job for job in Job.objects.filter(brief_links__brief=brief).order_by("id")}


def streams(name: str) -> list[dict]:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            default_storage.path(name),
        ],
        check=True,
        capture_output=True,
    ).stdout
    return json.loads(out)["streams"]


def structured_calls(fake, name: str) -> list:
    return [
        r
        for r in fake.requests
        if r.path == "/v1/responses" and r.json["text"]["format"]["name"] == name
    ]


@pytest.mark.django_db(transaction=True)
def test_video_pipeline_with_storyboard(fake_openai, user, uploaded_video):
    brief = brief_create(
        owner=user,
        title="Launch teaser",
        query="A short teaser for our app launch.",
        media_type="video",
        assets=[uploaded_video],
    )
    brief_start(brief=brief, use_pipeline=True, storyboard=True)
    run_worker()
    brief = Brief.objects.get(pk=brief.pk)
    assert brief.status == Brief.Status.COMPLETED, brief.failure_reason
    jobs = results(brief)

    assert jobs["analysis"].result["analysis"]["summary"]
    assert jobs["storyboard"].result["scenes"]
    prepared = jobs["asset_prep"].result["assets"]
    assert prepared[0]["probe"]["has_video"] and prepared[0]["probe"]["has_audio"]

    # default: one keyframe per storyboard scene, narration, assembled with ffmpeg
    video = jobs["video_generation"].result
    assert video["mode"] == "keyframes" and video["narrated"] is True
    assert video["model"] == "gpt-image-2+gpt-4o-mini-tts"
    assert default_storage.exists(video["video"])
    scenes = jobs["storyboard"].result["scenes"]
    image_calls = [r for r in fake_openai.requests if r.path == "/v1/images/generations"]
    assert len(image_calls) == video["scenes"] == len(scenes)
    assert scenes[0]["visuals"] in image_calls[0].json["prompt"]
    speech = next(r for r in fake_openai.requests if r.path == "/v1/audio/speech")
    assert scenes[0]["narration"] in speech.json["input"]
    kinds = {s["codec_type"] for s in streams(video["video"])}
    assert kinds == {"video", "audio"}
    assert (
        video["probe"]["duration"]
        >= sum(min(max(s["duration_seconds"], 2), 10) for s in scenes) - 0.5
    )
    assert selectors.for_job(jobs["video_generation"].pk)["images"] == len(scenes)

    rendered = jobs["render"].result
    (final,) = rendered["files"]
    video_stream = next(s for s in streams(final) if s["codec_type"] == "video")
    assert video_stream["height"] == 720 and video_stream["codec_name"] == "h264"
    assert rendered["document"]["body_markdown"]
    assert all(job.progress == 100 for job in jobs.values())
    assert all(
        selectors.for_job(job.pk)["calls"] for name, job in jobs.items() if name != "asset_prep"
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("served_as", "kind", "body", "says"),
    [
        ("page.png", "image", b"<html><script>alert(1)</script></html>", "is not an image"),
        ("notes.txt", "text", b"\x89PNG\r\n\x1a\n\x00\x00", "is a binary file"),
        ("clip.mp4", "video", b"#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n", "clip.mp4"),
    ],
)
def test_a_url_asset_gets_the_checks_of_an_upload(
    fake_openai, user, file_server, settings, served_as, kind, body, says
):
    """What a URL serves is checked as an upload is, before anything is stored."""
    settings.BRIEFS_ALLOW_PRIVATE_URLS = True  # the asset server is on localhost
    (file_server.root / served_as).write_bytes(body)
    media_type = {"image": "image", "text": "text", "video": "video"}[kind]
    brief = brief_create(
        owner=user,
        title="Checked",
        query="Use the asset.",
        media_type=media_type,
        assets=[{"url": f"{file_server.url}/{served_as}", "kind": kind}],
    )
    brief_start(brief=brief, use_pipeline=True)
    run_worker()
    brief = Brief.objects.get(pk=brief.pk)
    assert brief.status == Brief.Status.FAILED
    assert says in brief.failure_reason
    assert not default_storage.exists(f"briefs/{brief.pk}/assets")  # nothing was stored


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("photo", ["photo.png", "photo.jpg"])
def test_image_pipeline_fetches_and_reviews_url_assets(
    fake_openai, user, file_server, settings, photo
):
    settings.BRIEFS_ALLOW_PRIVATE_URLS = True  # the asset server is on localhost
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240",
        "-frames:v",
        "1",
        str(file_server.root / photo),
    )
    brief = brief_create(
        owner=user,
        title="Poster",
        query="A poster for the summer sale.",
        media_type="image",
        assets=[{"url": f"{file_server.url}/{photo}"}],
    )
    brief_start(brief=brief, use_pipeline=True)
    run_worker()
    brief = Brief.objects.get(pk=brief.pk)
    assert brief.status == Brief.Status.COMPLETED, brief.failure_reason
    jobs = results(brief)

    (asset,) = jobs["asset_prep"].result["assets"]
    stored_as = {"photo.png": "1-image.png", "photo.jpg": "1-image.jpg"}[photo]
    assert asset["stored"] == f"briefs/{brief.pk}/assets/{stored_as}"  # our name, not the URL's
    assert default_storage.open(asset["stored"]).read() == (file_server.root / photo).read_bytes()
    assert asset["probe"]["width"] == 320 and asset["review"]["description"]
    review_call = structured_calls(fake_openai, "asset_review")[0]
    assert any(p["type"] == "input_image" for p in review_call.json["input"][0]["content"])

    image = jobs["image_processing"].result
    assert image["model"] == "gpt-image-2" and default_storage.exists(image["image"])
    assert default_storage.open(image["image"]).read(8) == b"\x89PNG\r\n\x1a\n"
    assert selectors.for_job(jobs["image_processing"].pk)["images"] == 1
    assert jobs["render"].result["files"] == [image["image"]]


@pytest.mark.django_db(transaction=True)
def test_audio_pipeline(fake_openai, user, tmp_path):
    path = tmp_path / "voice.mp3"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:duration=2", str(path))
    asset = asset_store_upload(owner=user, file=ContentFile(path.read_bytes(), name="voice.mp3"))
    brief = brief_create(
        owner=user, title="Jingle", query="A jingle", media_type="audio", assets=[asset]
    )
    brief_start(brief=brief, use_pipeline=True)
    run_worker()
    brief = Brief.objects.get(pk=brief.pk)
    assert brief.status == Brief.Status.COMPLETED, brief.failure_reason
    jobs = results(brief)
    assert jobs["asset_prep"].result["assets"][0]["probe"]["has_audio"]
    assert jobs["render"].result["files"] == [asset["file"]]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("given", ["uploaded", "by URL"])
def test_text_pipeline_reads_text_assets(fake_openai, user, file_server, settings, given):
    body = "\ufeffOur spring menu has fresh asparagus.".encode()
    if given == "uploaded":
        asset = asset_store_upload(owner=user, file=ContentFile(body, name="menu.txt"))
    else:  # it was left out: a text brief has no asset step to fetch it
        settings.BRIEFS_ALLOW_PRIVATE_URLS = True  # the server is on localhost
        (file_server.root / "menu.txt").write_bytes(body)
        asset = {"url": f"{file_server.url}/menu.txt"}
    brief = brief_create(
        owner=user, title="Menu", query="Polish our menu text.", media_type="text", assets=[asset]
    )
    brief_start(brief=brief, use_pipeline=True)
    run_worker()
    brief = Brief.objects.get(pk=brief.pk)
    assert brief.status == Brief.Status.COMPLETED, brief.failure_reason
    (call,) = structured_calls(fake_openai, "text_analysis")
    text = call.json["input"][0]["content"][0]["text"]
    assert "Text of menu.txt:\nOur spring menu has fresh asparagus." in text
    assert results(brief)["text_analysis"].result["prompt_version"] == "text_analysis_v1"


@pytest.mark.django_db(transaction=True)
def test_offline_text_analysis_reads_the_uploaded_text(user):
    body = b"Fresh asparagus. Fresh asparagus again. Seasonal asparagus soup tonight."
    asset = asset_store_upload(owner=user, file=ContentFile(body, name="menu.txt"))
    brief = brief_create(
        owner=user, title="Menu", query="Polish it.", media_type="text", assets=[asset]
    )
    brief_start(brief=brief, use_pipeline=True)
    run_worker()
    analysis = results(Brief.objects.get(pk=brief.pk))["text_analysis"].result["analysis"]
    assert analysis["summary"] == "[offline] 9 words in 3 sentences."
    assert "asparagus" in analysis["keywords"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("media_type", ["video", "image", "audio", "text"])
def test_every_pipeline_runs_offline(user, media_type):
    brief = brief_create(owner=user, title="Offline", query="Show it.", media_type=media_type)
    brief_start(brief=brief, use_pipeline=True, storyboard=True)
    run_worker()
    brief = Brief.objects.get(pk=brief.pk)
    assert brief.status == Brief.Status.COMPLETED, brief.failure_reason
    for job in Job.objects.filter(brief_links__brief=brief).all():
        assert job.result.get("provider") == "offline", job.type


@pytest.mark.django_db(transaction=True)
def test_video_generation_through_the_videos_api(fake_openai, user, settings):
    settings.OPENAI_VIDEO_MODEL = "sora-2"
    brief = brief_create(owner=user, title="Clip", query="A clip of waves.", media_type="video")
    brief_start(brief=brief, use_pipeline=True)
    run_worker()
    brief = Brief.objects.get(pk=brief.pk)
    assert brief.status == Brief.Status.COMPLETED, brief.failure_reason
    video = results(brief)["video_generation"].result
    assert video["mode"] == "videos API" and video["model"] == "sora-2"
    create = next(r for r in fake_openai.requests if r.path == "/v1/videos")
    assert "A clip of waves." in create.form["prompt"] and create.form["seconds"] == "4"
    assert fake_openai.count("/v1/videos/") >= 2  # polled, then downloaded
    assert default_storage.exists(video["video"])
