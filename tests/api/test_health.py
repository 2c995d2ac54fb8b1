from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs import services
from jobs.models import Job
from jobs.models import Worker as WorkerRow

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker():
    return WorkerRow.objects.create(id="w-1", hostname="here", pid=1, concurrency=4, jobs_running=1)


def finish(n: int, status: str, *, ago: timedelta = timedelta(minutes=5)) -> None:
    now = timezone.now()
    for _ in range(n):
        job = services.enqueue("noop", {})
        Job.objects.filter(pk=job.pk).update(
            status=status, started_at=now - ago - timedelta(seconds=2), finished_at=now - ago
        )


def test_health_needs_no_login_and_reports_the_numbers(client, worker):
    services.enqueue("noop", {})
    services.enqueue("noop", {}, delay=600)
    finish(3, Job.Status.SUCCEEDED)
    finish(1, Job.Status.FAILED)
    finish(1, Job.Status.CANCELLED)

    response = client.get("/api/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["reasons"] == []
    metrics = body["metrics"]
    assert metrics["queueDepth"] == 1
    assert metrics["scheduledJobs"] == 1
    assert metrics["liveWorkers"] == 1
    assert metrics["processingCapacity"] == 4
    assert metrics["busySlots"] == 1
    assert metrics["finishedLastHour"] == 5
    assert metrics["successRate"] == 75.0
    assert metrics["oldestWaitingSeconds"] is not None
    assert body["thresholds"]["wait_unhealthy_seconds"] == 600


def test_no_live_worker_is_degraded(client):
    WorkerRow.objects.create(
        id="dead",
        hostname="h",
        pid=2,
        concurrency=2,
        last_heartbeat=timezone.now() - timedelta(hours=1),
    )

    body = client.get("/api/health").json()

    assert body["status"] == "degraded"
    assert body["metrics"]["liveWorkers"] == 0
    assert "No live worker" in body["reasons"][0]


def test_a_job_waiting_too_long_makes_it_unhealthy_with_503(client, worker):
    job = services.enqueue("noop", {})
    Job.objects.filter(pk=job.pk).update(run_at=timezone.now() - timedelta(minutes=11))

    response = client.get("/api/health")

    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert "waited" in response.json()["reasons"][0]


def test_a_job_waiting_over_a_minute_is_degraded(client, worker):
    job = services.enqueue("noop", {})
    Job.objects.filter(pk=job.pk).update(run_at=timezone.now() - timedelta(minutes=2))

    response = client.get("/api/health")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"


def test_jobs_blocked_by_a_dependency_are_not_waiting_for_a_worker(client, worker):
    first = services.enqueue("noop", {}, delay=3600)
    second = services.enqueue("noop", {}, depends_on=first)
    Job.objects.filter(pk=second.pk).update(run_at=timezone.now() - timedelta(hours=1))

    body = client.get("/api/health").json()

    assert body["status"] == "healthy"
    assert body["metrics"]["oldestWaitingSeconds"] is None


HEALTH_URLS = ["/api/health", "/api/jobs/health"]


@pytest.mark.parametrize("url", HEALTH_URLS)
@pytest.mark.parametrize("failed", [0, 4, 10, 500])
def test_failing_jobs_are_a_metric_never_a_verdict(client, worker, url, failed):
    finish(10, Job.Status.SUCCEEDED)
    finish(failed, Job.Status.FAILED)

    response = client.get(url)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["reasons"] == []
    assert body["metrics"]["failedLastHour"] == failed
    assert body["metrics"]["successRate"] == round(100 * 10 / (10 + failed), 1)


@pytest.mark.parametrize("url", HEALTH_URLS)
def test_a_stuck_queue_answers_503_on_both_paths_never_500(client, worker, url):
    job = services.enqueue("noop", {})
    Job.objects.filter(pk=job.pk).update(run_at=timezone.now() - timedelta(minutes=30))

    response = client.get(url)

    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert "stuck" in response.json()["reasons"][0]


@pytest.mark.parametrize("url", HEALTH_URLS)
def test_an_unreachable_database_answers_503_on_both_paths(client, url, monkeypatch):
    from django.db import DatabaseError

    from api import health

    def unreachable(**kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(health, "measure", unreachable)

    response = client.get(url)

    assert response.status_code == 503
    assert response.json()["reasons"] == ["The database cannot be reached."]


def test_busy_workers_are_not_a_stuck_queue(client):
    """Every slot busy (long jobs someone started) while a job waits: capacity, not outage."""
    WorkerRow.objects.create(id="full", hostname="h", pid=3, concurrency=2, jobs_running=2)
    job = services.enqueue("noop", {})
    Job.objects.filter(pk=job.pk).update(run_at=timezone.now() - timedelta(minutes=30))

    response = client.get("/api/health")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert "all 2 worker slot(s) are busy" in response.json()["reasons"][0]


def test_no_worker_and_a_job_waiting_too_long_is_unhealthy(client):
    job = services.enqueue("noop", {})
    Job.objects.filter(pk=job.pk).update(run_at=timezone.now() - timedelta(minutes=30))

    response = client.get("/api/health")

    assert response.status_code == 503


def test_backlog_beyond_capacity_is_degraded(client, worker, settings):
    settings.API_HEALTH_THRESHOLDS = {"backlog_per_slot": 1}
    services.enqueue_many("noop", [{}] * 5)

    body = client.get("/api/health").json()

    assert body["status"] == "degraded"
    assert "5 jobs are due for 4 worker slot(s)" in body["reasons"][0]


@pytest.mark.django_db(transaction=True)
def test_a_user_starting_jobs_that_fail_cannot_take_the_service_down(alice):
    """The attack, end to end: a user's jobs fail for good in a real worker run, one after the
    other, and retried ones wait for their next attempt; the health check stays 200 on both
    paths with the failures in its numbers."""
    from django.test import Client

    from jobs.worker import WorkerProcess

    WorkerRow.objects.create(id="live", hostname="h", pid=4, concurrency=4)
    for index in range(30):
        services.enqueue("test_fail", {"message": f"no {index}"}, owner=alice, max_attempts=1)
    services.enqueue("test_fail_permanently", {}, owner=alice)
    WorkerProcess(concurrency=4, burst=True, listen=False).run()
    services.enqueue("test_fail", {}, owner=alice, max_attempts=5, delay=3600)

    assert Job.objects.filter(status=Job.Status.FAILED).count() == 31
    for url in HEALTH_URLS:
        response = Client().get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["status"] == "healthy", body["reasons"]
        assert body["metrics"]["failedLastHour"] == 31
        assert body["metrics"]["successRate"] == 0.0
