"""A handler that raises JobHeld gives its attempt back: the job waits in the queue, held, and
runs when it is resumed (or at its recheck time)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from jobs.models import Job, JobAttempt
from jobs.services import enqueue


def run_worker() -> None:
    call_command("runworker", "--burst", "--concurrency", "1", "--poll-interval", "0.05")


@pytest.mark.django_db(transaction=True)
def test_a_held_job_waits_uncounted_and_runs_when_resumed(tmp_path, settings):
    settings.JOBS_HELD_RECHECK_SECONDS = 600
    gate = tmp_path / "gate"
    job = enqueue("test_held", {"gate": str(gate)}, max_attempts=1)
    before = timezone.now()
    run_worker()
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and job.is_held
    assert job.held_reason == "waiting for the gate"
    assert job.attempts == 0  # not counted: a job with one attempt is not used up
    assert job.run_at >= before + timedelta(seconds=590)
    (attempt,) = job.attempt_history.all()
    assert attempt.outcome == JobAttempt.Outcome.HELD and attempt.error == "waiting for the gate"

    run_worker()  # not due: nothing runs
    assert Job.objects.get(pk=job.pk).attempt_history.count() == 1

    gate.touch()
    assert Job.objects.filter(pk=job.pk).resume_held() == 1
    job.refresh_from_db()
    assert not job.is_held and job.run_at <= timezone.now()
    run_worker()
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.result == {"attempt": 1}


@pytest.mark.django_db(transaction=True)
def test_held_until_a_given_time(tmp_path):
    job = enqueue("test_held", {"gate": str(tmp_path / "never")})
    run_worker()
    job.refresh_from_db()
    # resume_held only touches held jobs: a plain queued job keeps its time.
    plain = enqueue("noop", {}, delay=timedelta(hours=1))
    assert Job.objects.filter(pk__in=[job.pk, plain.pk]).resume_held() == 1
    plain.refresh_from_db()
    assert plain.run_at > timezone.now() + timedelta(minutes=50)


@pytest.mark.django_db(transaction=True)
def test_a_held_job_that_staff_cancelled_is_cancelled(tmp_path):
    job = enqueue("test_held", {"gate": str(tmp_path / "never")})
    claimed = Job.objects.claim(worker_id="w1", limit=1)[0]
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    assert claimed.hold("a reason") is False
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED and "held" in job.error


@pytest.mark.django_db(transaction=True)
def test_a_held_job_that_comes_due_by_itself_is_no_longer_held_once_claimed():
    """Its recheck time passed without a resume: the claim ends the hold, so a later retry of
    the job does not show it as held for a reason that no longer holds."""
    job = enqueue("noop", {})
    Job.objects.filter(pk=job.pk).update(held_reason="waiting for the gate")
    (claimed,) = Job.objects.claim(worker_id="w", limit=1)
    assert claimed.held_reason == "" and not claimed.is_held
    assert Job.objects.get(pk=job.pk).held_reason == ""
