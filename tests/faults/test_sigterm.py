"""SIGTERM under load: the workers stop claiming, the jobs they run finish within the grace
period, the rest stay queued untouched, and a later worker finishes them. Jobs that outlast the
grace period go back to the queue (not lost, their attempt not counted)."""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import Job, JobAttempt
from jobs.services import enqueue_many
from tests.conftest import wait_for
from tests.faults import outcome
from tests.faults.conftest import wait_registered

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

JOBS = 120
GRACE_SECONDS = 30


def count(**filters) -> int:
    return Job.objects.filter(**filters).count()


def drain(fleet, name: str) -> None:
    finisher = fleet(name, "--burst", "--concurrency", "6")
    assert finisher.wait(120) == 0, finisher.output()[-3000:]


def test_sigterm_under_load_finishes_running_jobs_and_leaves_the_rest_queued(fleet):
    names = ["term-1", "term-2"]
    grace = ["--grace-period", str(GRACE_SECONDS)]
    workers = [fleet(name, "--concurrency", "3", *grace) for name in names]
    wait_registered(*names)
    ids = [job.pk for job in enqueue_many("fault_effect", [{"ms": 200}] * JOBS)]
    wait_for(lambda: count(status=Job.Status.SUCCEEDED) >= JOBS * 0.3, timeout=120)

    for worker in workers:
        worker.signal(signal.SIGTERM)
    terminated_at = timezone.now()
    started = time.monotonic()
    for worker in workers:
        assert worker.wait(GRACE_SECONDS + 30) == 0, worker.output()[-3000:]
    stop_seconds = time.monotonic() - started

    # Everything that was running finished within the grace period; nothing was given back.
    in_flight = JobAttempt.objects.filter(job_id__in=ids, finished_at__gte=terminated_at)
    assert in_flight.exists()
    assert set(in_flight.values_list("outcome", flat=True)) == {JobAttempt.Outcome.SUCCEEDED}
    assert all(
        attempt.finished_at <= terminated_at + timedelta(seconds=GRACE_SECONDS)
        for attempt in in_flight
    )
    # The rest stayed queued, untouched.
    queued = Job.objects.filter(pk__in=ids, status=Job.Status.QUEUED)
    left = queued.count()
    assert left > 0
    assert count(pk__in=ids, status=Job.Status.QUEUED, attempts=0) == left
    assert not JobAttempt.objects.filter(job__in=queued).exists()
    assert count(status=Job.Status.RUNNING) == 0

    drain(fleet, "term-finisher")
    figures = outcome.check(
        "SIGTERM under load, 2 workers",
        ids,
        recovery_seconds=stop_seconds,
        notes=(
            f"{in_flight.count()} running jobs finished in the grace period, {left} stayed "
            "queued; recovery: SIGTERM to both workers exited"
        ),
    )
    assert figures.problems == []


def test_jobs_longer_than_the_grace_period_go_back_to_the_queue(fleet):
    worker = fleet("short-grace", "--concurrency", "2", "--grace-period", "0.5")
    wait_registered("short-grace")
    ids = [job.pk for job in enqueue_many("fault_effect", [{"ms": 2500}] * 2)]
    wait_for(lambda: count(status=Job.Status.RUNNING) == 2)

    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0, worker.output()[-3000:]

    assert count(pk__in=ids, status=Job.Status.QUEUED, attempts=0, worker_id="") == 2
    outcomes = JobAttempt.objects.filter(job_id__in=ids).values_list("outcome", flat=True)
    assert list(outcomes) == [JobAttempt.Outcome.RELEASED] * 2

    drain(fleet, "grace-finisher")
    figures = outcome.check(
        "SIGTERM with jobs longer than the grace period",
        ids,
        notes="both jobs released at shutdown, then finished by another worker",
    )
    assert figures.problems == []
