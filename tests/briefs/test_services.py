"""Creating briefs, starting their jobs, and the derived status."""

from __future__ import annotations

import itertools

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from briefs.exceptions import BriefError
from briefs.models import Brief, status_from_links
from briefs.services import asset_store_upload, brief_create, brief_start, brief_start_sop
from credits.exceptions import InsufficientCredits
from credits.models import CreditAccount
from jobs.models import Job
from tests.support.transitions import finish


def make(user, media_type="video", **extra):
    return brief_create(owner=user, title="T", query="Make it", media_type=media_type, **extra)


@pytest.mark.django_db
def test_creating_a_brief_creates_no_jobs(user):
    brief = make(user, description="  more  ")
    assert brief.description == "more"
    assert brief.status == Brief.Status.DRAFT
    assert not Job.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"title": " "}, "title", "Give the brief a title"),
        ({"title": "x" * 201}, "title", "limit is 200"),
        ({"query": ""}, "query", "query is empty"),
        ({"media_type": "hologram"}, "media_type", "Unknown media type 'hologram'"),
        ({"assets": "a.mp4"}, "assets", "must be a list"),
        ({"assets": [{"url": "ftp://x/a.mp4"}]}, "assets", "only http(s)"),
        ({"assets": [{"url": "https://x/a.bin"}]}, "assets", "unknown kind"),
        ({"assets": [{"kind": "video", "file": "nope.mp4"}]}, "assets", "no uploaded file"),
        ({"assets": [{"kind": "video"}]}, "assets", "exactly one of"),
        ({"query": "make\x00it"}, "query", "contains a NUL character"),
        ({"title": "bad \ud800 surrogate"}, "title", "not valid Unicode"),
    ],
)
def test_bad_briefs_are_refused_with_a_clear_error(user, fields, field, message):
    values = {"title": "T", "query": "Q", "media_type": "video"} | fields
    with pytest.raises(ValidationError) as info:
        brief_create(owner=user, **values)
    assert message in " ".join(info.value.message_dict[field])
    assert not Brief.objects.exists()


@pytest.mark.django_db
def test_assets_are_normalised(user):
    stored = asset_store_upload(owner=user, file=ContentFile(b"hello", name="../../notes.txt"))
    assert stored["kind"] == "text" and ".." not in stored["file"]
    odd = asset_store_upload(owner=user, file=ContentFile(b"x", name=".."), kind="text")
    assert odd["name"] == "upload"
    brief = make(user, assets=[stored, "https://example.com/clip.mp4"])
    assert brief.assets[1] == {
        "kind": "video",
        "url": "https://example.com/clip.mp4",
        "name": "clip.mp4",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("media_type", "steps"),
    [
        ("video", ["analysis", "asset_prep", "video_generation", "render"]),
        ("image", ["analysis", "asset_prep", "image_processing", "render"]),
        ("audio", ["analysis", "asset_prep", "render"]),
        ("text", ["analysis", "text_analysis", "render"]),
    ],
)
def test_pipeline_by_media_type_each_step_depending_on_the_one_before(user, media_type, steps):
    brief = make(user, media_type)
    jobs = brief_start(brief=brief, use_pipeline=True)
    assert [job.type for job in jobs] == steps
    assert jobs[0].depends_on is None
    for before, after in itertools.pairwise(jobs):
        assert after.depends_on_id == before.pk
    assert all(job.owner_id == user.pk for job in jobs)
    links = list(brief.job_links.order_by("id"))
    assert [(link.job_id, link.job_type, link.step) for link in links] == [
        (job.pk, job.type, number) for number, job in enumerate(jobs, start=1)
    ]
    assert all(job.payload == {"brief_id": brief.pk} for job in jobs)
    assert brief.status == Brief.Status.PROCESSING


@pytest.mark.django_db
def test_without_pipeline_one_analysis_job_and_storyboard_on_request(user):
    assert [j.type for j in brief_start(brief=make(user))] == ["analysis"]
    jobs = brief_start(brief=make(user), storyboard=True)
    assert [j.type for j in jobs] == ["analysis", "storyboard"]
    jobs = brief_start(brief=make(user), use_pipeline=True, storyboard=True)
    assert [j.type for j in jobs] == [
        "analysis",
        "storyboard",
        "asset_prep",
        "video_generation",
        "render",
    ]


@pytest.mark.django_db
def test_a_processing_brief_cannot_be_started_again(user):
    brief = make(user)
    brief_start(brief=brief)
    with pytest.raises(BriefError, match="already processing"):
        brief_start(brief=brief, use_pipeline=True)
    assert brief.job_links.count() == 1


@pytest.mark.django_db
def test_starting_needs_credits_for_every_step_or_creates_nothing(user, settings):
    settings.CREDITS_STARTING_BALANCE = 7  # video pipeline: 1 + 0 + 5 + 1 = 7
    brief_start(brief=make(user), use_pipeline=True)
    assert CreditAccount.objects.get(user=user).balance == 0
    CreditAccount.objects.filter(user=user).update(balance=6)
    brief = make(user)
    with pytest.raises(InsufficientCredits) as info:
        brief_start(brief=brief, use_pipeline=True)
    assert str(info.value) == (
        "Not enough credits for 'analysis → asset_prep → video_generation → render': "
        "it costs 7, the balance is 6."
    )
    assert not brief.job_links.exists()
    assert CreditAccount.objects.get(user=user).balance == 6


@pytest.mark.django_db
def test_unknown_media_type_has_no_pipeline(user):
    brief = make(user, "text")
    Brief.objects.filter(pk=brief.pk).update(media_type="hologram")
    brief.refresh_from_db()
    with pytest.raises(BriefError, match="unknown media type 'hologram'"):
        brief_start(brief=brief, use_pipeline=True)


@pytest.mark.django_db
def test_sop_needs_a_video_brief_with_an_uploaded_video(user, uploaded_video):
    with pytest.raises(BriefError, match="made from a video"):
        brief_start_sop(brief=make(user, "text"))
    with pytest.raises(BriefError, match="no uploaded video"):
        brief_start_sop(brief=make(user, assets=["https://example.com/a.mp4"]))
    brief = make(user, assets=["https://example.com/a.mp4", uploaded_video])
    jobs = brief_start_sop(brief=brief)
    assert [j.payload for j in jobs] == [{"brief_id": brief.pk, "asset_index": 1}] * 3


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], "draft"),
        (["queued"], "processing"),
        (["succeeded", "running"], "processing"),
        (["failed", "queued"], "processing"),
        (["succeeded", "failed"], "failed"),
        (["cancelled"], "failed"),
        (["succeeded", "succeeded"], "completed"),
    ],
)
def test_status_rules(statuses, expected):
    rows = [(f"step{index}", status) for index, status in enumerate(statuses)]
    assert status_from_links(rows) == expected


def test_only_the_newest_link_of_a_type_counts_for_failed():
    assert status_from_links([("analysis", "failed"), ("analysis", "succeeded")]) == "completed"
    assert status_from_links([("analysis", "succeeded"), ("analysis", "cancelled")]) == "failed"
    assert status_from_links([("analysis", "running"), ("analysis", "failed")]) == "processing"


@pytest.mark.django_db
def test_status_is_stored_and_moved_by_the_jobs_transitions(user):
    draft = make(user)
    processing = make(user)
    brief_start(brief=processing)
    failed, completed = make(user), make(user)
    for brief, status in ((failed, "failed"), (completed, "succeeded")):
        (job,) = brief_start(brief=brief)
        finish(job, status)
    with CaptureQueriesContext(connection) as queries:
        listed = {b.pk: b.status for b in Brief.objects.all()}
    assert len(queries) == 1
    assert listed == {
        draft.pk: "draft",
        processing.pk: "processing",
        failed.pk: "failed",
        completed.pk: "completed",
    }
    assert list(Brief.objects.filter(status="failed").values_list("pk", flat=True)) == [failed.pk]


@pytest.mark.django_db
def test_starting_a_failed_brief_again_and_succeeding_completes_it(user):
    brief = make(user, "text")
    first = brief_start(brief=brief, use_pipeline=True)
    finish(first[0], "succeeded")
    finish(first[1], "failed", error="boom")  # its dependent render is cancelled with it
    assert Job.objects.get(pk=first[2].pk).status == "cancelled"
    assert Brief.objects.get(pk=brief.pk).status == "failed"
    assert "text_analysis" in brief.failure_reason

    again = brief_start(brief=brief, use_pipeline=True)  # a failed brief may start again
    for job in again:
        finish(job, "succeeded")
    assert Brief.objects.get(pk=brief.pk).status == "completed"
    assert brief.failure_reason == ""

    (job,) = brief_start(brief=brief)  # another analysis: live again
    assert Brief.objects.get(pk=brief.pk).status == "processing"
    finish(job, "cancelled")
    assert Brief.objects.get(pk=brief.pk).status == "failed"


@pytest.mark.django_db
def test_requeue_makes_a_failed_brief_processing_and_deleting_jobs_keeps_its_status(user):
    brief = make(user, "text")
    (job,) = brief_start(brief=brief)
    job = finish(job, "failed")
    assert Brief.objects.get(pk=brief.pk).status == "failed"
    assert job.requeue()
    assert Brief.objects.get(pk=brief.pk).status == "processing"
    finish(job, "succeeded")
    assert Brief.objects.get(pk=brief.pk).status == "completed"
    Job.objects.all().delete()
    brief.refresh_from_db()
    assert brief.status == "completed"
    assert brief.job_links.get().job_id is None
    assert brief.job_links.get().status == "succeeded"


@pytest.mark.django_db
def test_a_live_job_deleted_by_hand_does_not_block_the_brief(user):
    brief = make(user, "text")
    (job,) = brief_start(brief=brief)
    Job.objects.filter(pk=job.pk).delete()  # e.g. staff deleted it in the admin while queued
    (again,) = brief_start(brief=brief)  # not "already processing"
    finish(again, "succeeded")
    assert Brief.objects.get(pk=brief.pk).status == "completed"
    assert [link.job_id for link in brief.job_links.order_by("id")] == [None, again.pk]
