"""The worker driven in-process, the way a user runs it: ``runworker --burst``."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.db import connection

from jobs.models import Job, JobAttempt
from jobs.models import Worker as WorkerRow
from jobs.services import enqueue
from jobs.worker import WorkerProcess
from tests.conftest import wait_for
from tests.support.bursts import run_burst, run_until_settled


def start_in_thread(worker: WorkerProcess) -> threading.Thread:
    """Run a worker in a thread of this process; its database connection closes with it."""

    def target() -> None:
        try:
            worker.run()
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_burst_runs_every_ready_job_and_exits():
    jobs = [enqueue("noop", {"i": i}) for i in range(10)]

    run_burst("--concurrency", "3")

    for job in jobs:
        job.refresh_from_db()
        assert job.status == Job.Status.SUCCEEDED
        assert job.result == job.payload
        assert job.progress == 100
    assert not WorkerRow.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_failures_are_retried_then_failed_with_the_error_kept():
    job = enqueue("test_fail", {"message": "the model said no"}, max_attempts=3)

    run_until_settled()

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error == "RuntimeError: the model said no"
    assert "Traceback" in job.traceback
    assert job.attempts == 3
    assert list(job.attempt_history.values_list("outcome", flat=True)) == ["failed"] * 3


@pytest.mark.django_db(transaction=True)
def test_a_flaky_job_succeeds_on_a_later_attempt():
    job = enqueue("test_flaky", {"succeed_on": 2})

    run_until_settled()

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert job.result == {"attempt": 2}


@pytest.mark.django_db(transaction=True)
def test_permanent_errors_and_bad_results_are_not_retried():
    permanent = enqueue("test_fail_permanently", {"message": "schema mismatch"})
    not_json = enqueue("test_not_json", {})

    run_burst()

    permanent.refresh_from_db()
    not_json.refresh_from_db()
    assert (permanent.status, permanent.attempts) == (Job.Status.FAILED, 1)
    assert permanent.error == "PermanentError: schema mismatch"
    assert not_json.status == Job.Status.FAILED
    assert "not JSON" in not_json.error


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_handler_is_gone_fails_clearly():
    job = Job.objects.create(type="removed_type", payload={})

    run_burst()

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "Unknown job type 'removed_type'" in job.error
    assert job.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_a_cooperative_job_past_its_timeout_fails_that_attempt():
    job = enqueue("sleep", {"seconds": 30}, timeout=0.3, max_attempts=1)

    run_burst()

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error == "Timed out after 0.3s"


@pytest.mark.django_db(transaction=True)
def test_a_hung_handler_times_out_and_the_worker_keeps_working():
    hung = enqueue("test_hang", {"seconds": 1.5}, timeout=0.3, max_attempts=1)
    after = [enqueue("noop", {"i": i}) for i in range(3)]

    run_burst("--concurrency", "1")

    hung.refresh_from_db()
    assert hung.status == Job.Status.FAILED
    assert hung.error == "Timed out after 0.3s"
    assert all(Job.objects.get(pk=job.pk).status == Job.Status.SUCCEEDED for job in after)


@pytest.mark.django_db(transaction=True)
def test_priorities_decide_the_order_of_a_single_slot_worker():
    low = enqueue("noop", {}, priority=1)
    high = enqueue("noop", {}, priority=9)

    run_burst("--concurrency", "1")

    low.refresh_from_db()
    high.refresh_from_db()
    assert high.started_at <= low.started_at


@pytest.mark.django_db(transaction=True)
def test_dependencies_run_in_order_and_delayed_jobs_wait():
    first = enqueue("noop", {"step": 1})
    second = enqueue("noop", {"step": 2}, depends_on=first)
    later = enqueue("noop", {}, delay=3600)

    run_burst("--concurrency", "4")
    run_burst("--concurrency", "4")

    first.refresh_from_db()
    second.refresh_from_db()
    later.refresh_from_db()
    assert first.status == second.status == Job.Status.SUCCEEDED
    assert first.finished_at <= second.started_at
    assert later.status == Job.Status.QUEUED


@pytest.mark.django_db(transaction=True)
def test_max_jobs_and_queues_limit_what_a_worker_takes():
    for _ in range(5):
        enqueue("noop", {}, queue="a")
    other = enqueue("noop", {}, queue="b")

    call_command("runworker", "--queues", "a", "--max-jobs", "2", "--poll-interval", "0.05")

    assert Job.objects.filter(status=Job.Status.SUCCEEDED).count() == 2
    assert Job.objects.get(pk=other.pk).status == Job.Status.QUEUED


@pytest.mark.django_db(transaction=True)
def test_a_running_job_stops_at_its_next_check_when_cancelled():
    job = enqueue("sleep", {"seconds": 60})
    worker = WorkerProcess(concurrency=1, poll_interval=0.05, listen=False)
    thread = start_in_thread(worker)
    try:
        wait_for(lambda: Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).exists())
        job.refresh_from_db()
        assert job.cancel()
        wait_for(lambda: Job.objects.get(pk=job.pk).status == Job.Status.CANCELLED)
    finally:
        worker.stop()
        thread.join(30)
    job.refresh_from_db()
    assert job.error == "Cancelled while running"
    assert job.attempt_history.get().outcome == JobAttempt.Outcome.CANCELLED
    assert not thread.is_alive()


@pytest.mark.django_db(transaction=True)
def test_stop_gives_unfinished_jobs_back_without_counting_the_attempt():
    job = enqueue("sleep", {"seconds": 60})
    worker = WorkerProcess(concurrency=1, poll_interval=0.05, listen=False, grace_period=0.2)
    thread = start_in_thread(worker)
    wait_for(lambda: Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).exists())

    worker.stop()
    thread.join(30)

    job.refresh_from_db()
    assert (job.status, job.attempts, job.worker_id) == (Job.Status.QUEUED, 0, "")
    assert job.attempt_history.get().outcome == JobAttempt.Outcome.RELEASED
    assert not WorkerRow.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_progress_is_visible_while_the_job_runs():
    job = enqueue("sleep", {"seconds": 60})
    worker = WorkerProcess(concurrency=1, poll_interval=0.05, listen=False, grace_period=0)
    thread = start_in_thread(worker)
    try:
        wait_for(lambda: Job.objects.get(pk=job.pk).current_step == "Sleeping 60s")
        row = WorkerRow.objects.get(pk=worker.id)
        assert row.concurrency == 1
    finally:
        worker.stop(force=True)
        thread.join(30)
