"""Bad input: the job fails with a readable reason, the brief shows it, nothing else is lost,
and staff can requeue it after fixing the cause."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from briefs.models import SOP, Brief, Transcript
from briefs.services import brief_create, brief_start, brief_start_sop
from jobs.models import Job


def run_worker() -> None:
    call_command("runworker", "--burst", "--concurrency", "1", "--poll-interval", "0.05")


def statuses(brief: Brief) -> list[tuple[str, str]]:
    jobs = Job.objects.filter(brief_links__brief=brief).order_by("id")
    return list(jobs.values_list("type", "status"))


@pytest.mark.django_db(transaction=True)
def test_unknown_media_type_fails_the_job_readably_and_can_be_requeued(user):
    brief = brief_create(owner=user, title="Odd", query="Make it", media_type="text")
    Brief.objects.filter(pk=brief.pk).update(media_type="hologram")  # e.g. an old import
    (job,) = brief_start(brief=brief)
    run_worker()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.attempts == 1
    assert "unknown media type 'hologram'" in job.error
    brief = Brief.objects.get(pk=brief.pk)
    assert brief.status == Brief.Status.FAILED
    assert brief.failure_reason == (
        f"analysis (job #{job.pk}): Brief #{brief.pk} has the unknown media type 'hologram'; "
        "use one of video, image, audio, text and requeue."
    )
    assert (brief.title, brief.query) == ("Odd", "Make it")  # nothing else changed

    Brief.objects.filter(pk=brief.pk).update(media_type="text")  # staff fix the cause
    assert job.requeue()
    run_worker()
    assert Brief.objects.get(pk=brief.pk).status == Brief.Status.COMPLETED


@pytest.mark.django_db(transaction=True)
def test_missing_video_fails_readably(user, uploaded_video):
    brief = brief_create(
        owner=user, title="V", query="q", media_type="video", assets=[uploaded_video]
    )
    default_storage.delete(uploaded_video["file"])
    jobs = brief_start_sop(brief=brief)
    run_worker()
    brief = Brief.objects.get(pk=brief.pk)
    assert statuses(brief) == [
        ("video_slim", "failed"),
        ("transcribe", "cancelled"),
        ("sop_extract", "cancelled"),
    ]
    assert "does not exist" in brief.failure_reason
    assert Job.objects.get(pk=jobs[0].pk).attempts == 1  # permanent: no pointless retries


@pytest.mark.django_db(transaction=True)
def test_corrupt_video_fails_readably_then_requeue_after_replacing_it(user, video_file):
    name = default_storage.save("briefs/uploads/x/broken.mp4", ContentFile(b"not a video" * 100))
    asset = {"kind": "video", "file": name}
    brief = brief_create(owner=user, title="V", query="q", media_type="video", assets=[asset])
    jobs = brief_start_sop(brief=brief)
    run_worker()
    brief = Brief.objects.get(pk=brief.pk)
    assert brief.status == Brief.Status.FAILED
    assert "not a media file ffmpeg can read" in brief.failure_reason
    assert "broken.mp4" in brief.failure_reason

    default_storage.delete(name)  # staff replace the file with a good one
    default_storage.save(name, ContentFile(video_file.read_bytes()))
    assert Job.objects.get(pk=jobs[0].pk).requeue()  # its dependents come back too
    run_worker()
    brief = Brief.objects.get(pk=brief.pk)
    assert brief.status == Brief.Status.COMPLETED, brief.failure_reason
    assert SOP.objects.filter(brief=brief).count() == 1


@pytest.mark.django_db(transaction=True)
def test_asset_url_that_cannot_be_fetched(user, file_server, settings):
    settings.BRIEFS_ALLOW_PRIVATE_URLS = True
    url = f"{file_server.url}/missing.png"
    brief = brief_create(
        owner=user, title="I", query="q", media_type="image", assets=[{"url": url}]
    )
    brief_start(brief=brief, use_pipeline=True)
    run_worker()
    brief = Brief.objects.get(pk=brief.pk)
    assert statuses(brief)[:2] == [("analysis", "succeeded"), ("asset_prep", "failed")]
    assert "404" in brief.failure_reason and "missing.png" in brief.failure_reason


@pytest.mark.django_db(transaction=True)
def test_asset_urls_into_private_networks_are_refused_by_default(user, file_server, settings):
    settings.BRIEFS_ALLOW_PRIVATE_URLS = False
    (file_server.root / "a.png").write_bytes(b"x")
    brief = brief_create(
        owner=user,
        title="I",
        query="q",
        media_type="image",
        assets=[{"url": f"{file_server.url}/a.png"}],
    )
    brief_start(brief=brief, use_pipeline=True)
    run_worker()
    assert "private network" in Brief.objects.get(pk=brief.pk).failure_reason


@pytest.mark.django_db(transaction=True)
def test_sop_answer_that_does_not_fit_the_schema(fake_openai, user, uploaded_video):
    brief = brief_create(
        owner=user, title="V", query="q", media_type="video", assets=[uploaded_video]
    )
    jobs = brief_start_sop(brief=brief)
    fake_openai.answer_next({"title": "Half an SOP", "steps": "none"}, schema="sop")
    run_worker()
    brief = Brief.objects.get(pk=brief.pk)
    assert statuses(brief) == [
        ("video_slim", "succeeded"),
        ("transcribe", "succeeded"),
        ("sop_extract", "failed"),
    ]
    assert "does not fit the sop schema" in brief.failure_reason
    assert Transcript.objects.filter(brief=brief).count() == 1  # nothing else lost
    assert not SOP.objects.filter(brief=brief).exists()
    assert Job.objects.get(pk=jobs[2].pk).attempts == 1

    assert Job.objects.get(pk=jobs[2].pk).requeue()  # the model behaves again
    run_worker()
    assert Brief.objects.get(pk=brief.pk).status == Brief.Status.COMPLETED
    assert Transcript.objects.filter(brief=brief).count() == 1
    assert SOP.objects.get(brief=brief).transcript == Transcript.objects.get(brief=brief)


@pytest.mark.django_db(transaction=True)
def test_model_text_the_database_cannot_store_is_cleaned(fake_openai, user, uploaded_video):
    brief = brief_create(
        owner=user, title="V", query="q", media_type="video", assets=[uploaded_video]
    )
    brief_start_sop(brief=brief)
    sop = {
        "title": "Reset\u0000 a password",
        "purpose": "p",
        "prerequisites": [],
        "steps": [
            {"number": 1, "title": "t", "actions": ["a\u0000"], "tools": [], "start": 0, "end": 1}
        ],
    }
    fake_openai.answer_next(sop, schema="sop")
    run_worker()
    assert Brief.objects.get(pk=brief.pk).status == Brief.Status.COMPLETED
    saved = SOP.objects.get(brief=brief)
    assert saved.title == "Reset a password" and saved.steps[0]["actions"] == ["a"]


@pytest.mark.django_db(transaction=True)
def test_an_empty_transcript_makes_no_sop(user):
    from briefs.services import brief_link_jobs
    from jobs.services import enqueue

    brief = brief_create(owner=user, title="V", query="q", media_type="video")
    Transcript.objects.create(brief=brief, segments=[], model="m", prompt_version="v")
    job = enqueue("sop_extract", {"brief_id": brief.pk}, owner=user)
    brief_link_jobs(brief=brief, jobs=[job])
    run_worker()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "transcript of brief" in job.error
    assert "is empty" in job.error and not SOP.objects.exists()
    brief.refresh_from_db()
    assert brief.status == "failed" and "is empty" in brief.failure_reason
