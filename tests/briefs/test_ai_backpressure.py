"""AI backpressure: a 429 with Retry-After that outlasts the SDK's retries holds the job's queue
on every worker for that long; the job goes back without losing an attempt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from jobs.controls import Queue
from jobs.models import Job, JobAttempt
from jobs.services import enqueue

pytestmark = pytest.mark.django_db(transaction=True)


def run_worker() -> None:
    call_command("runworker", "--burst", "--concurrency", "1", "--poll-interval", "0.05")


def test_a_persistent_429_holds_the_queue_instead_of_burning_attempts(fake_openai, settings):
    settings.OPENAI_MAX_RETRIES = 0
    fake_openai.fail_next(1, status=429, retry_after=90)
    job = enqueue("sentiment_analysis", {"text": "meh"})
    waiting = enqueue("sentiment_analysis", {"text": "later"})
    run_worker()
    job.refresh_from_db()
    held = Queue.objects.get(name=job.queue)
    assert (job.status, job.attempts) == (Job.Status.QUEUED, 0)
    assert held.held_until - timezone.now() > timedelta(seconds=80)
    assert "429, Retry-After 90s" in held.hold_reason
    assert JobAttempt.objects.get(job=job).outcome == JobAttempt.Outcome.RELEASED
    assert Job.objects.get(pk=waiting.pk).status == Job.Status.QUEUED  # not tried: held
    assert fake_openai.count("/v1/responses") == 1


def test_without_retry_after_or_when_turned_off_the_attempt_fails_as_before(fake_openai, settings):
    settings.OPENAI_MAX_RETRIES = 0
    settings.OPENAI_HOLD_QUEUE_ON_429 = False
    fake_openai.fail_next(1, status=429, retry_after=90)
    job = enqueue("sentiment_analysis", {"text": "meh"}, max_attempts=1)
    run_worker()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "Rate limited" in job.error
    assert not Queue.objects.filter(held_until__isnull=False).exists()
