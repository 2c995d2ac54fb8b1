"""A handler that returns, or fails with, text the database cannot store (a NUL character, a lone
surrogate from undecodable bytes). The job must end visibly failed with a readable reason, not
crash the job thread and stay ``running`` until its lease runs out."""

from __future__ import annotations

import pytest
from django.core.management import call_command

import tests.faults.handlers  # noqa: F401 - registers the fault job types in this process
from jobs.models import Job, JobAttempt
from jobs.services import enqueue

pytestmark = pytest.mark.django_db(transaction=True)


def run_worker() -> None:
    call_command("runworker", "--burst", "--concurrency", "1", "--poll-interval", "0.05")


def test_unstorable_result_fails_the_job_with_a_reason():
    job = enqueue("fault_unstorable")
    run_worker()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.attempts == 1  # retrying cannot help
    assert "cannot be stored" in job.error
    assert "NUL" in job.error


def test_unstorable_error_message_is_kept_readable():
    job = enqueue("fault_unstorable", {"raise": True}, max_attempts=1)
    run_worker()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error == "RuntimeError: nul \\x00 and undecodable \\udcff"
    assert "RuntimeError" in job.traceback
    assert list(JobAttempt.objects.filter(job=job).values_list("outcome", "error")) == [
        ("failed", job.error)
    ]
    assert not Job.objects.filter(status=Job.Status.RUNNING).exists()
