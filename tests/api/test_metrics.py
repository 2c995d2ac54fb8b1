from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from api.models import ApiToken
from jobs import services
from jobs.models import Job, JobAttempt
from jobs.models import Worker as WorkerRow

pytestmark = pytest.mark.django_db

METRICS_TOKEN = "metrics-token-for-tests-0123456789"


def samples(response) -> dict[tuple[str, tuple], float]:
    text = response.content.decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture
def scrape(settings):
    settings.METRICS_TOKEN = METRICS_TOKEN
    return lambda: Client(headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).get("/metrics")


def test_metrics_need_the_metrics_token_or_staff(settings, alice, staff, scrape):
    assert Client().get("/metrics").status_code == 401
    assert Client(headers={"Authorization": "Bearer wrong"}).get("/metrics").status_code == 401
    _, alice_token = ApiToken.objects.create_token(user=alice, name="t")
    assert (
        Client(headers={"Authorization": f"Bearer {alice_token}"}).get("/metrics").status_code
        == 403
    )
    session = Client()
    session.force_login(alice)
    assert session.get("/metrics").status_code == 403

    _, staff_token = ApiToken.objects.create_token(user=staff, name="t")
    assert (
        Client(headers={"Authorization": f"Bearer {staff_token}"}).get("/metrics").status_code
        == 200
    )
    session.force_login(staff)
    assert session.get("/metrics").status_code == 200
    assert scrape().status_code == 200


def test_without_a_metrics_token_only_staff_read_metrics(settings):
    settings.METRICS_TOKEN = None
    response = Client(headers={"Authorization": "Bearer "}).get("/metrics")

    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"


def test_metrics_report_jobs_queue_durations_retries_and_workers(scrape):
    now = timezone.now()
    services.enqueue("noop", {})
    services.enqueue("sleep", {"seconds": 1}, queue="slow")
    services.enqueue("noop", {}, delay=600)
    for seconds in (0.05, 0.3, 3):
        job = services.enqueue("noop", {})
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.SUCCEEDED,
            started_at=now - timedelta(seconds=seconds),
            finished_at=now,
        )
    retried = services.enqueue("noop", {})
    Job.objects.filter(pk=retried.pk).update(attempts=1, run_at=now + timedelta(seconds=30))
    for number in (1, 2, 3):
        JobAttempt.objects.create(job=retried, number=number, worker_id="w", started_at=now)
    WorkerRow.objects.create(id="w-1", hostname="h", pid=1, concurrency=3, jobs_running=2)

    response = scrape()

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    values = samples(response)
    assert values[("jobqueue_up", ())] == 1
    assert values[("jobqueue_jobs", (("status", "queued"), ("type", "noop")))] == 3
    assert values[("jobqueue_jobs", (("status", "succeeded"), ("type", "noop")))] == 3
    assert values[("jobqueue_queue_depth", (("queue", "default"),))] == 1
    assert values[("jobqueue_queue_depth", (("queue", "slow"),))] == 1
    assert values[("jobqueue_scheduled_jobs", (("queue", "default"),))] == 2
    assert values[("jobqueue_jobs_awaiting_retry", (("type", "noop"),))] == 1
    assert values[("jobqueue_recent_retries", (("type", "noop"),))] == 2
    assert (
        values[("jobqueue_recent_finished_jobs", (("status", "succeeded"), ("type", "noop")))] == 3
    )
    bucket = "jobqueue_recent_job_duration_seconds_bucket"
    assert values[(bucket, (("le", "0.1"), ("type", "noop")))] == 1
    assert values[(bucket, (("le", "0.5"), ("type", "noop")))] == 2
    assert values[(bucket, (("le", "5.0"), ("type", "noop")))] == 3
    assert values[(bucket, (("le", "+Inf"), ("type", "noop")))] == 3
    assert values[
        ("jobqueue_recent_job_duration_seconds_gsum", (("type", "noop"),))
    ] == pytest.approx(3.35, abs=0.001)  # SQLite's julianday() is exact to ~50 µs
    assert values[("jobqueue_live_workers", ())] == 1
    assert values[("jobqueue_worker_capacity", ())] == 3
    assert values[("jobqueue_worker_busy_slots", ())] == 2
    assert values[("jobqueue_oldest_waiting_seconds", ())] >= 0


def test_metrics_on_an_empty_database(scrape):
    values = samples(scrape())

    assert values[("jobqueue_up", ())] == 1
    assert values[("jobqueue_live_workers", ())] == 0
    assert values[("jobqueue_oldest_waiting_seconds", ())] == 0
