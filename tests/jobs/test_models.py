from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import Job, JobAttempt
from jobs.services import enqueue

pytestmark = pytest.mark.django_db


def claim(worker="w1", limit=10, **kwargs):
    return Job.objects.claim(worker_id=worker, limit=limit, **kwargs)


def test_claim_takes_highest_priority_first_then_oldest():
    low = enqueue("noop", {}, priority=0)
    high = enqueue("noop", {}, priority=10)
    low_later = enqueue("noop", {}, priority=0)

    assert [job.pk for job in claim(limit=3)] == [high.pk, low.pk, low_later.pk]


def test_claim_skips_future_jobs_and_unfinished_dependencies():
    later = enqueue("noop", {}, delay=3600)
    parent = enqueue("noop", {})
    child = enqueue("noop", {}, depends_on=parent)

    assert [job.pk for job in claim()] == [parent.pk]

    claimed_parent = Job.objects.get(pk=parent.pk)
    assert claimed_parent.mark_succeeded({"ok": True})
    assert [job.pk for job in claim()] == [child.pk]
    assert Job.objects.get(pk=later.pk).status == Job.Status.QUEUED


def test_claim_respects_queues_and_limit():
    enqueue("noop", {}, queue="a")
    enqueue("noop", {}, queue="b")
    enqueue("noop", {}, queue="b")

    assert [job.queue for job in claim(queues=["b"], limit=1)] == ["b"]
    assert [job.queue for job in claim(queues=["a"])] == ["a"]


def test_claim_fills_slots_in_a_constant_number_of_queries(django_assert_max_num_queries):
    for _ in range(20):
        enqueue("noop", {})
    with django_assert_max_num_queries(6):
        jobs = claim(limit=20)
    assert len(jobs) == 20


def test_claim_records_worker_lease_attempt_and_history():
    enqueue("noop", {})

    (job,) = claim(worker="w1")

    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING
    assert job.worker_id == "w1"
    assert job.attempts == 1
    assert job.lease_expires_at > timezone.now()
    attempt = job.attempt_history.get()
    assert (attempt.number, attempt.worker_id, attempt.outcome) == (1, "w1", "running")


def test_failure_retries_with_backoff_then_fails_with_every_attempt_kept():
    enqueue("noop", {}, max_attempts=2)

    (job,) = claim()
    assert job.mark_failed("ValueError: first")
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
    assert job.run_at > job.started_at

    Job.objects.filter(pk=job.pk).update(run_at=timezone.now())
    (job,) = claim()
    assert job.mark_failed("ValueError: second")

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error == "ValueError: second"
    assert job.finished_at is not None
    outcomes = list(job.attempt_history.values_list("number", "outcome", "error"))
    assert outcomes == [(1, "failed", "ValueError: first"), (2, "failed", "ValueError: second")]


def test_backoff_grows_exponentially_with_jitter(settings):
    settings.JOBS_RETRY_BACKOFF_BASE = 2
    settings.JOBS_RETRY_BACKOFF_MAX = 100
    for attempt, step in [(1, 2), (2, 4), (3, 8), (10, 100)]:
        delays = {Job.backoff(attempt).total_seconds() for _ in range(20)}
        assert all(step / 2 <= delay <= step for delay in delays)
        assert len(delays) > 1


def test_a_late_worker_cannot_overwrite_a_job_taken_back_by_another():
    enqueue("noop", {}, max_attempts=3)
    (stale,) = claim(worker="frozen")
    Job.objects.filter(pk=stale.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    (recovered,) = Job.objects.recover_stuck()
    assert recovered.status == Job.Status.QUEUED
    Job.objects.filter(pk=stale.pk).update(run_at=timezone.now())
    (fresh,) = claim(worker="healthy")
    assert fresh.mark_succeeded({"by": "healthy"})

    assert not stale.mark_succeeded({"by": "frozen"})
    assert not stale.mark_failed("late failure")
    assert not stale.set_progress(50)
    fresh.refresh_from_db()
    assert fresh.result == {"by": "healthy"}
    assert list(fresh.attempt_history.values_list("worker_id", "outcome")) == [
        ("frozen", JobAttempt.Outcome.LOST),
        ("healthy", JobAttempt.Outcome.SUCCEEDED),
    ]


def test_stuck_job_out_of_attempts_fails_with_the_reason():
    enqueue("noop", {}, max_attempts=1)
    (job,) = claim(worker="dead")
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    Job.objects.recover_stuck()

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "Lease expired: worker dead" in job.error


def test_renew_leases_reports_only_jobs_still_held():
    enqueue("noop", {})
    enqueue("noop", {})
    first, second = claim(worker="w1")
    Job.objects.filter(pk=second.pk).update(worker_id="someone-else")

    assert Job.objects.renew_leases(worker_id="w1", ids=[first.pk, second.pk]) == {first.pk}


def test_cancel_queued_job_at_once_and_running_job_by_request():
    queued = enqueue("noop", {})
    running = enqueue("noop", {})
    Job.objects.filter(pk=running.pk).update(status=Job.Status.RUNNING)
    running.refresh_from_db()

    assert queued.cancel()
    assert running.cancel()

    queued.refresh_from_db()
    running.refresh_from_db()
    assert queued.status == Job.Status.CANCELLED
    assert running.status == Job.Status.RUNNING
    assert running.cancel_requested


def test_requeue_brings_back_a_failed_job_and_its_cancelled_dependents():
    parent = enqueue("noop", {}, max_attempts=1)
    child = enqueue("noop", {}, depends_on=parent)
    (job,) = claim()
    job.mark_failed("boom")
    child.refresh_from_db()
    assert child.status == Job.Status.CANCELLED

    assert job.requeue()

    job.refresh_from_db()
    child.refresh_from_db()
    assert (job.status, job.attempts, job.error) == (Job.Status.QUEUED, 0, "")
    assert child.status == Job.Status.QUEUED
    assert not job.requeue()


def test_release_gives_the_job_back_without_counting_the_attempt():
    enqueue("noop", {})
    (job,) = claim()

    assert job.release()

    job.refresh_from_db()
    assert (job.status, job.attempts, job.worker_id) == (Job.Status.QUEUED, 0, "")
    assert job.attempt_history.get().outcome == JobAttempt.Outcome.RELEASED
