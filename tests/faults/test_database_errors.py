"""A handler's own connection dies just before the worker records the attempt's outcome (what a
PostgreSQL restart does to a worker mid-job). The worker must record the outcome over a fresh
connection: before the fix, the exception escaped the job thread, which died with the job in hand,
and the heartbeat kept renewing the lease of a job that nothing would ever finish."""

from __future__ import annotations

import signal

import pytest

from jobs.models import Job, JobAttempt
from jobs.services import enqueue
from tests.conftest import wait_for
from tests.faults.conftest import wait_registered

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def finished(job: Job) -> bool:
    job.refresh_from_db()
    return job.is_finished


@pytest.mark.parametrize(
    ("payload", "outcomes"),
    [
        ({}, ["succeeded"]),
        ({"raise": True}, ["failed", "succeeded"]),
    ],
    ids=["success-recorded", "failure-recorded"],
)
def test_outcome_is_recorded_after_the_connection_dies(fleet, payload, outcomes):
    worker = fleet("dropped", "--concurrency", "1")
    wait_registered("dropped")
    job = enqueue("fault_drop_connection", payload)

    wait_for(lambda: finished(job), timeout=30)

    assert job.status == Job.Status.SUCCEEDED
    history = list(JobAttempt.objects.filter(job=job).values_list("outcome", flat=True))
    assert history == outcomes
    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0, worker.output()[-3000:]
