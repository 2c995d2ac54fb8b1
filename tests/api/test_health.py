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


@pytest.mark.parametrize(
    ("failed", "status", "code"), [(1, "healthy", 200), (4, "degraded", 200), (6, "unhealthy", 503)]
)
def test_success_rate_thresholds(client, worker, failed, status, code):
    finish(10 - failed, Job.Status.SUCCEEDED)
    finish(failed, Job.Status.FAILED)

    response = client.get("/api/health")

    assert response.status_code == code
    assert response.json()["status"] == status


def test_success_rate_is_not_judged_on_few_jobs_or_old_ones(client, worker):
    finish(3, Job.Status.FAILED)
    finish(20, Job.Status.FAILED, ago=timedelta(hours=2))

    body = client.get("/api/health").json()

    assert body["status"] == "healthy"
    assert body["metrics"]["successRate"] == 0.0


def test_backlog_beyond_capacity_is_degraded(client, worker, settings):
    settings.API_HEALTH_THRESHOLDS = {"backlog_per_slot": 1}
    services.enqueue_many("noop", [{}] * 5)

    body = client.get("/api/health").json()

    assert body["status"] == "degraded"
    assert "5 jobs are due for 4 worker slot(s)" in body["reasons"][0]
