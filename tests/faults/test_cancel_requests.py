"""Staff cancel a running job whose worker has just died (SIGKILL), or that fails before it sees
the request. The cancellation must stand: the job ends ``cancelled``; it is not run again as if
nobody had asked."""

from __future__ import annotations

import signal

import pytest
from django.core.management import call_command

import tests.faults.handlers  # noqa: F401 - registers the fault job types in this process
from jobs.models import Job, JobAttempt
from jobs.services import enqueue
from tests.conftest import wait_for
from tests.faults.conftest import wait_registered


def refreshed(job: Job) -> Job:
    job.refresh_from_db()
    return job


@pytest.mark.postgres
def test_a_cancel_request_survives_the_death_of_the_worker(fleet):
    doomed = fleet("cancel-doomed")
    wait_registered("cancel-doomed")
    job = enqueue("fault_effect", {"ms": 30_000})
    wait_for(lambda: refreshed(job).status == Job.Status.RUNNING)
    doomed.signal(signal.SIGKILL)
    doomed.wait(10)

    assert job.cancel()  # asks the (dead) worker to stop the job
    heir = fleet("cancel-heir")

    def taken_back() -> bool:
        """the job was taken back from the dead worker"""
        return refreshed(job).status != Job.Status.RUNNING or job.worker_id != "cancel-doomed"

    wait_for(taken_back, timeout=60)
    wait_for(lambda: refreshed(job).is_finished, timeout=60)
    assert job.status == Job.Status.CANCELLED
    assert list(job.attempt_history.values_list("worker_id", "outcome")) == [
        ("cancel-doomed", JobAttempt.Outcome.LOST)
    ]
    heir.signal(signal.SIGTERM)
    assert heir.wait(60) == 0


@pytest.mark.django_db(transaction=True)
def test_a_job_cancelled_while_running_is_not_retried_when_it_fails():
    job = enqueue("fault_cancelled_then_fails", max_attempts=3)
    call_command("runworker", "--burst", "--concurrency", "1", "--poll-interval", "0.05")
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert job.attempts == 1
    assert job.error == (
        "Cancelled while running; the attempt ended with: "
        "RuntimeError: failed before seeing the cancel"
    )
    assert list(job.attempt_history.values_list("outcome", flat=True)) == ["failed"]


@pytest.mark.postgres
def test_a_cancel_request_survives_a_shutdown_that_gives_the_job_back(fleet):
    """The handler never looks at its context, so the worker stops before the job does: the
    job must end cancelled, not go back to the queue to run again."""
    worker = fleet("cancel-shutdown", "--grace-period", "0.5")
    wait_registered("cancel-shutdown")
    job = enqueue("test_hang", {"seconds": 3600})
    wait_for(lambda: refreshed(job).status == Job.Status.RUNNING)

    assert job.cancel()
    worker.signal(signal.SIGTERM)
    assert worker.wait(60) == 0, worker.output()[-3000:]

    assert refreshed(job).status == Job.Status.CANCELLED
    assert list(job.attempt_history.values_list("outcome", flat=True)) == ["cancelled"]
