"""Real worker processes: two at once on one queue, one killed with SIGKILL mid-job, one stopped
with SIGTERM mid-job, and the health endpoint. Each worker is a ``manage.py runworker``
subprocess against the test database."""

from __future__ import annotations

import signal
import socket
import urllib.parse

import pytest

from jobs.models import Job, JobAttempt
from jobs.models import Worker as WorkerRow
from jobs.services import enqueue, enqueue_many
from tests.conftest import wait_for
from tests.processes import get_health, health_url, overlapping_attempts

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FAST = ["--poll-interval", "0.1"]
SHORT_LEASE = {"JOBS_LEASE_SECONDS": "2"}
PAIR = ("pair-1", "pair-2")


def wait_registered(*worker_ids: str) -> None:
    def registered() -> bool:
        """every worker wrote its row"""
        return WorkerRow.objects.filter(pk__in=worker_ids).count() == len(worker_ids)

    wait_for(registered, timeout=60)


def refreshed(job: Job) -> Job:
    job.refresh_from_db()
    return job


def test_two_worker_processes_run_every_job_exactly_once(start_worker):
    workers = [start_worker("--worker-id", name, "--concurrency", "4", *FAST) for name in PAIR]
    wait_registered(*PAIR)
    ids = [job.pk for job in enqueue_many("noop", [{"n": n} for n in range(500)])]

    def all_succeeded() -> bool:
        """all 500 jobs succeeded"""
        return Job.objects.filter(pk__in=ids, status=Job.Status.SUCCEEDED).count() == 500

    wait_for(all_succeeded, timeout=120)
    for worker in workers:
        worker.signal(signal.SIGTERM)
    for worker in workers:
        assert worker.wait(30) == 0, worker.output()[-3000:]

    attempts = list(JobAttempt.objects.filter(job_id__in=ids).order_by("job_id", "started_at"))
    assert len(attempts) == 500
    assert {attempt.job_id for attempt in attempts} == set(ids)
    assert {attempt.outcome for attempt in attempts} == {JobAttempt.Outcome.SUCCEEDED}
    assert {attempt.worker_id for attempt in attempts} == set(PAIR)
    assert overlapping_attempts(ids) == []
    results = dict(Job.objects.filter(pk__in=ids).values_list("pk", "result"))
    assert sorted(result["n"] for result in results.values()) == list(range(500))


def test_attempts_of_one_job_never_overlap(start_worker):
    """Under lease loss (SIGSTOP), the history never shows two workers holding a job at once:
    the next attempt starts only after the previous one was closed."""
    frozen = start_worker("--worker-id", "overlap-a", *FAST, env=SHORT_LEASE)
    wait_registered("overlap-a")
    job = enqueue("sleep", {"seconds": 3})
    wait_for(lambda: refreshed(job).status == Job.Status.RUNNING)
    frozen.signal(signal.SIGSTOP)
    try:
        start_worker("--worker-id", "overlap-b", *FAST, env=SHORT_LEASE)
        wait_for(lambda: refreshed(job).status == Job.Status.SUCCEEDED, timeout=60)
    finally:
        frozen.signal(signal.SIGCONT)

    attempts = list(job.attempt_history.order_by("started_at"))
    assert [(a.worker_id, a.outcome) for a in attempts] == [
        ("overlap-a", JobAttempt.Outcome.LOST),
        ("overlap-b", JobAttempt.Outcome.SUCCEEDED),
    ]
    assert overlapping_attempts([job.pk]) == []


def test_sigkill_mid_job_the_job_is_taken_back_and_succeeds_elsewhere(start_worker):
    doomed = start_worker("--worker-id", "doomed", *FAST, env=SHORT_LEASE)
    wait_registered("doomed")
    job = enqueue("sleep", {"seconds": 4})
    wait_for(lambda: refreshed(job).status == Job.Status.RUNNING)

    doomed.signal(signal.SIGKILL)
    doomed.wait(10)
    assert refreshed(job).status == Job.Status.RUNNING
    start_worker("--worker-id", "heir", *FAST, env=SHORT_LEASE)

    wait_for(lambda: refreshed(job).status == Job.Status.SUCCEEDED, timeout=60)
    assert job.worker_id == "heir"
    assert job.result == {"slept": 4}
    history = list(job.attempt_history.values_list("number", "worker_id", "outcome"))
    assert history == [
        (1, "doomed", JobAttempt.Outcome.LOST),
        (2, "heir", JobAttempt.Outcome.SUCCEEDED),
    ]
    assert "Lease expired" in job.attempt_history.get(number=1).error


def test_sigterm_mid_job_the_job_finishes_and_the_worker_exits_0(start_worker):
    worker = start_worker("--worker-id", "graceful", *FAST)
    wait_registered("graceful")
    job = enqueue("sleep", {"seconds": 2})
    wait_for(lambda: refreshed(job).status == Job.Status.RUNNING)

    worker.signal(signal.SIGTERM)
    assert worker.wait(60) == 0, worker.output()[-3000:]

    assert refreshed(job).status == Job.Status.SUCCEEDED
    assert list(job.attempt_history.values_list("outcome", flat=True)) == ["succeeded"]
    assert not Job.objects.filter(status=Job.Status.RUNNING).exists()
    assert not WorkerRow.objects.filter(pk="graceful").exists()
    assert "finishing running jobs" in worker.output()


def test_health_endpoint_reports_the_worker(start_worker):
    worker = start_worker("--worker-id", "healthy", "--health-port", "0", *FAST)
    url = health_url(worker)

    code, body = get_health(url)
    assert code == 200
    assert body["worker_id"] == "healthy"
    assert body["status"] == "running"
    assert (body["active_jobs"], body["processed"], body["failed"]) == (0, 0, 0)
    assert body["uptime"] >= 0

    sleeper = enqueue("sleep", {"seconds": 2})
    wait_for(lambda: get_health(url)[1]["active_jobs"] == 1)
    enqueue("test_fail", {"message": "expected"}, max_attempts=1)
    wait_for(lambda: refreshed(sleeper).status == Job.Status.SUCCEEDED)

    def counted() -> bool:
        """the health endpoint counted one success and one failure"""
        body = get_health(url)[1]
        return (body["processed"], body["succeeded"], body["failed"]) == (2, 1, 1)

    wait_for(counted)
    later = get_health(url)[1]
    assert later["active_jobs"] == 0
    assert later["uptime"] > body["uptime"]
    assert get_health(url.replace("/health", "/nope"))[0] == 404
    # Garbage and an oversized request line get an HTTP error; the server keeps serving.
    host, port = urllib.parse.urlsplit(url).netloc.split(":")
    too_long = b"GET /" + b"a" * (65537 - 5)  # exactly what the server reads before refusing
    for request, status in ((b"\xff\x00\x01 nonsense\r\n", b"400"), (too_long, b"414")):
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            raw.sendall(request)
            answer = b"".join(iter(lambda raw=raw: raw.recv(4096), b""))
            assert b"Error code: " + status in answer
    assert get_health(url)[0] == 200

    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0
