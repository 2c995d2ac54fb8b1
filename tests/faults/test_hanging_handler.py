"""A handler that hangs (blocked in a call that never looks at its context): its attempt times
out, the worker stays responsive (health checks answer, other jobs keep flowing, a new thread
takes the stuck one's slot), and a result the stuck attempt produces late is discarded."""

from __future__ import annotations

import re
import signal

import pytest

from jobs.models import Job, JobAttempt
from jobs.services import enqueue, enqueue_many
from tests.conftest import wait_for
from tests.faults import outcome
from tests.faults.conftest import wait_registered
from tests.processes import get_health, health_url

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def status(job: Job) -> str:
    job.refresh_from_db()
    return job.status


def test_hanging_handler_times_out_and_the_worker_stays_responsive(fleet):
    worker = fleet("hang", "--concurrency", "2", "--health-port", "0")
    url = health_url(worker)
    wait_registered("hang")

    # Hangs for an hour: times out after 1s, no retry.
    stuck = enqueue("test_hang", {"seconds": 3600}, timeout=1, max_attempts=1)
    # Hangs 4s on its first attempt only: times out, is retried, and the late result of the
    # first attempt must not count.
    late = enqueue("fault_effect", {"hang_first_attempt": 4}, timeout=1, max_attempts=2)
    first_wave = [job.pk for job in enqueue_many("fault_effect", [{"ms": 5}] * 50)]

    wait_for(lambda: status(stuck) == Job.Status.FAILED, timeout=60)
    assert stuck.error == "Timed out after 1s"
    # Both threads of the worker are now stuck in handlers, yet it still answers and works.
    code, body = get_health(url)
    assert (code, body["status"]) == (200, "running")
    second_wave = [job.pk for job in enqueue_many("fault_effect", [{"ms": 5}] * 50)]

    def drained() -> bool:
        """every job but the stuck one succeeded"""
        done = Job.objects.filter(status=Job.Status.SUCCEEDED).count()
        return done == len(first_wave) + len(second_wave) + 1

    wait_for(drained, timeout=120)

    def late_result_discarded() -> bool:
        """the first attempt of the late job woke up and its result was discarded"""
        return bool(re.search(rf"job={late.pk} .*attempt=1/2 event=discarded", worker.output()))

    wait_for(late_result_discarded, timeout=60)
    attempts = list(JobAttempt.objects.filter(job=late).values_list("outcome", "error"))
    assert attempts == [("failed", "Timed out after 1s"), ("succeeded", "")]

    worker.signal(signal.SIGTERM)
    assert worker.wait(60) == 0, worker.output()[-3000:]

    first = JobAttempt.objects.get(job=stuck)
    overrun = (first.finished_at - first.started_at).total_seconds() - stuck.timeout
    figures = outcome.check(
        "handler hangs past its timeout",
        [stuck.pk, late.pk, *first_wave, *second_wave],
        recovery_seconds=overrun,
        notes="recovery: timeout to the attempt marked failed; 100 other jobs served meanwhile",
    )
    assert figures.problems == []
