"""Every job type is registered, validates its payload, and keeps results when jobs are pruned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command

from briefs.models import SOP, Brief, Transcript
from briefs.services import brief_create, brief_start, brief_start_sop
from jobs import registry
from jobs.exceptions import InvalidPayload
from jobs.services import enqueue, prune_finished

JOB_TYPES = [
    "analysis",
    "asset_prep",
    "storyboard",
    "text_analysis",
    "image_processing",
    "video_generation",
    "render",
    "ai_generation",
    "sentiment_analysis",
    "prompt_analysis",
    "video_slim",
    "transcribe",
    "sop_extract",
]


def test_every_job_type_is_registered_with_a_validator_and_description():
    for name in JOB_TYPES:
        job_type = registry.get(name)
        assert job_type.validate is not None, name
        assert job_type.description, name


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("job_type", "payload", "message"),
    [
        ("analysis", {}, "brief_id must be a whole number"),
        ("analysis", {"brief_id": "7"}, "brief_id must be a whole number"),
        ("analysis", {"brief_id": 999999}, "There is no brief #999999"),
        ("transcribe", {"brief_id": 999999}, "There is no brief"),
        ("ai_generation", {"tone": "warm"}, 'Give the text in "review_text"'),
        ("ai_generation", {"review_text": "ok", "rating": 9}, "rating must be a number from 1"),
        ("ai_generation", {"review_text": "ok", "tone": ""}, "tone must be a short word"),
        ("sentiment_analysis", {"text": "   "}, 'Give the text in "text"'),
        ("sentiment_analysis", {"text": "x" * 20_001}, "the limit is 20,000"),
        ("prompt_analysis", {"prompt": 3}, 'Give the text in "prompt"'),
    ],
)
def test_bad_payloads_are_refused_at_enqueue(job_type, payload, message):
    with pytest.raises(InvalidPayload, match=message):
        enqueue(job_type, payload)


@pytest.mark.django_db
def test_payloads_are_cleaned(user):
    brief = brief_create(owner=user, title="T", query="Q", media_type="video")
    job = enqueue("video_slim", {"brief_id": brief.pk, "extra": "dropped"})
    assert job.payload == {"brief_id": brief.pk, "asset_index": 0}
    job = enqueue("sentiment_analysis", {"review_text": "  fine  "})
    assert job.payload == {"text": "fine"}


@pytest.mark.django_db(transaction=True)
def test_jobs_change_only_the_brief_status_and_pruning_keeps_it_and_the_results(
    user, uploaded_video
):
    brief = brief_create(
        owner=user, title="T", query="Q", media_type="video", assets=[uploaded_video]
    )
    before = Brief.objects.values().get(pk=brief.pk) | {"status": Brief.Status.COMPLETED}
    brief_start_sop(brief=brief)
    call_command("runworker", "--burst", "--poll-interval", "0.05")
    brief_start(brief=brief, use_pipeline=True, storyboard=True)
    call_command("runworker", "--burst", "--poll-interval", "0.05")
    assert Brief.objects.values().get(pk=brief.pk) == before  # updated_at included
    assert Brief.objects.get(pk=brief.pk).status == Brief.Status.COMPLETED

    assert prune_finished(older_than=timedelta(seconds=-1)) == 8
    transcript = Transcript.objects.get(brief=brief)
    sop = SOP.objects.get(brief=brief)
    assert transcript.job_id is None and sop.job_id is None and sop.transcript == transcript
    assert Brief.objects.get(pk=brief.pk).status == Brief.Status.COMPLETED  # no jobs left
