"""The video → transcript → SOP flow through a real worker, against the fake OpenAI server."""

from __future__ import annotations

import json
import subprocess

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command

from briefs import media
from briefs.models import SOP, Brief, Transcript
from briefs.services import brief_create, brief_start_sop
from jobs.models import Job
from tests.support.fake_openai import SPEECH


def run_worker() -> None:
    call_command("runworker", "--burst", "--concurrency", "1", "--poll-interval", "0.05")


def probe(path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", str(path)],
        check=True,
        capture_output=True,
    ).stdout
    return json.loads(out)


@pytest.fixture
def video_brief(user, uploaded_video):
    return brief_create(
        owner=user,
        title="Change a setting",
        query="Write the procedure shown in the video.",
        media_type="video",
        assets=[uploaded_video],
    )


@pytest.mark.django_db(transaction=True)
def test_video_becomes_transcript_and_sop(fake_openai, video_brief, user):
    jobs = brief_start_sop(brief=video_brief)
    assert [job.type for job in jobs] == ["video_slim", "transcribe", "sop_extract"]
    assert jobs[1].depends_on_id == jobs[0].pk and jobs[2].depends_on_id == jobs[1].pk

    run_worker()

    brief = Brief.objects.get(pk=video_brief.pk)
    assert brief.status == Brief.Status.COMPLETED, brief.failure_reason

    # 1. the slim copy is beside the raw one, 1 fps, at most 720p
    raw = video_brief.assets[0]["file"]
    slim = media.slim_name(raw)
    assert slim.rsplit("/", 1)[0] == raw.rsplit("/", 1)[0]
    assert default_storage.exists(slim)
    streams = probe(default_storage.path(slim))["streams"]
    video = next(s for s in streams if s["codec_type"] == "video")
    assert video["avg_frame_rate"] == "1/1"
    assert int(video["height"]) <= 720
    assert Job.objects.get(pk=jobs[0].pk).result["slim"] == slim

    # 2. audio went to speech-to-text, frames to the vision model
    audio_calls = [r for r in fake_openai.requests if r.path == "/v1/audio/transcriptions"]
    assert len(audio_calls) == 1
    filename, audio = audio_calls[0].files["file"]
    assert filename.endswith(".mp3") and len(audio) > 1000
    assert audio_calls[0].form["model"] == "whisper-1"
    vision_calls = [
        r
        for r in fake_openai.requests
        if r.path == "/v1/responses" and r.json["text"]["format"]["name"] == "screen_events"
    ]
    images = [
        part
        for call in vision_calls
        for part in call.json["input"][0]["content"]
        if part["type"] == "input_image"
    ]
    assert len(images) == 3  # a 3-second video at 1 fps
    assert images[0]["image_url"].startswith("data:image/jpeg;base64,")
    assert images[0]["detail"] == "auto"

    transcript = Transcript.objects.get(brief=brief)
    assert transcript.job_id == jobs[1].pk
    assert transcript.prompt_version == "transcription_v1"
    assert transcript.language == "english"
    speech = [s["text"] for s in transcript.segments if s["kind"] == "speech"]
    assert speech == [s["text"] for s in SPEECH]
    assert any(s["kind"] == "screen" for s in transcript.segments)
    starts = [s["start"] for s in transcript.segments]
    assert starts == sorted(starts)

    # 3. the SOP, for the owner, made with the SOP schema from the transcript
    sop = SOP.objects.get(brief=brief)
    assert sop.owner == user and sop.transcript == transcript and sop.job_id == jobs[2].pk
    assert sop.prompt_version == "sop_parser_v1"
    assert sop.model == "gpt-5.4-mini"
    assert sop.title == sop.data["title"] and len(sop.steps) >= 1
    sop_call = next(
        r
        for r in fake_openai.requests
        if r.path == "/v1/responses" and r.json["text"]["format"]["name"] == "sop"
    )
    assert sop_call.json["text"]["format"]["strict"] is True
    assert "Click Save to keep the changes." in sop_call.json["input"][0]["content"][0]["text"]
    assert "standard operating procedure" in sop_call.json["instructions"]

    # token usage of every call is on the job
    transcribe_job = Job.objects.get(pk=jobs[1].pk)
    assert transcribe_job.usage["calls"] == 1 + len(vision_calls)
    assert transcribe_job.usage["input_tokens"] > 0
    assert transcribe_job.usage["audio_seconds"] == 3
    sop_job = Job.objects.get(pk=jobs[2].pk)
    assert sop_job.usage["calls"] == 1 and sop_job.usage["total_tokens"] > 0
    assert sop_job.result["provider"] == "openai"


@pytest.mark.django_db(transaction=True)
def test_video_without_sound_has_only_screen_segments(fake_openai, user, tmp_path):
    from django.core.files import File

    from briefs.services import asset_store_upload
    from tests.briefs.conftest import make_video

    path = make_video(tmp_path / "silent.mp4", seconds=2, audio=False)
    with path.open("rb") as handle:
        asset = asset_store_upload(owner=user, file=File(handle, name="silent.mp4"))
    brief = brief_create(owner=user, title="Silent", query="q", media_type="video", assets=[asset])
    brief_start_sop(brief=brief)
    run_worker()
    assert Brief.objects.get(pk=brief.pk).status == Brief.Status.COMPLETED
    assert fake_openai.count("/v1/audio/") == 0
    transcript = Transcript.objects.get(brief=brief)
    assert {s["kind"] for s in transcript.segments} == {"screen"}


@pytest.mark.django_db(transaction=True)
def test_offline_provider_without_a_key_is_labelled(video_brief):
    brief_start_sop(brief=video_brief)
    run_worker()
    sop = SOP.objects.get(brief=video_brief)
    assert sop.model == "offline"
    assert sop.data["title"].startswith("[offline]")
    transcript = Transcript.objects.get(brief=video_brief)
    assert transcript.model == "offline"
    assert all(s["text"].startswith("[offline]") for s in transcript.segments)
    jobs = Job.objects.filter(brief_links__brief=video_brief).order_by("id")
    results = [job.result for job in jobs]
    assert results[1]["provider"] == "offline" and results[2]["provider"] == "offline"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_video_to_sop_in_a_worker_process(fake_openai, video_brief, start_worker, media_root):
    """The same flow in a real `runworker` process, configured only through the environment."""

    jobs = brief_start_sop(brief=video_brief)
    worker = start_worker(
        "--burst",
        "--concurrency",
        "2",
        env=fake_openai.env() | {"MEDIA_ROOT": str(media_root)},
    )
    assert worker.wait(timeout=120) == 0, worker.output()
    brief = Brief.objects.get(pk=video_brief.pk)
    assert brief.status == Brief.Status.COMPLETED, (brief.failure_reason, worker.output())
    assert SOP.objects.get(brief=brief).job_id == jobs[2].pk
    assert fake_openai.count("/v1/audio/transcriptions") == 1
    assert fake_openai.env()["OPENAI_API_KEY"] not in worker.output()  # no secret in the logs


@pytest.mark.django_db(transaction=True)
def test_long_videos_send_at_most_max_frames(fake_openai, video_brief, settings):
    settings.BRIEFS_MAX_FRAMES = 2
    settings.BRIEFS_FRAMES_PER_REQUEST = 1
    brief_start_sop(brief=video_brief)
    run_worker()
    assert Brief.objects.get(pk=video_brief.pk).status == Brief.Status.COMPLETED
    vision = [
        r
        for r in fake_openai.requests
        if r.path == "/v1/responses" and r.json["text"]["format"]["name"] == "screen_events"
    ]
    assert len(vision) == 2  # 3 s of video, 2 frames (one every 2 s), one per request
    labels = [vision[i].json["input"][0]["content"][1]["text"] for i in range(2)]
    assert labels == ["t=0", "t=2"]


@pytest.mark.django_db(transaction=True)
def test_long_audio_is_transcribed_in_pieces_on_one_timeline(fake_openai, video_brief, settings):
    settings.BRIEFS_AUDIO_CHUNK_SECONDS = 2  # the 3-second video: pieces of 2 s and 1 s
    brief_start_sop(brief=video_brief)
    run_worker()
    assert Brief.objects.get(pk=video_brief.pk).status == Brief.Status.COMPLETED
    assert fake_openai.count("/v1/audio/transcriptions") == 2
    speech = [
        (s["start"], s["text"])
        for s in Transcript.objects.get(brief=video_brief).segments
        if s["kind"] == "speech"
    ]
    jobs = Job.objects.filter(brief_links__brief=video_brief)
    duration = jobs.get(type="transcribe").result["duration"]
    first, second = [(s["start"], s["text"]) for s in SPEECH]
    # the second piece's times are shifted by 2 s, and clamped to the end of the video
    shifted = [(min(t + 2, duration), text) for t, text in (first, second)]
    assert speech == [first, second, *shifted]
