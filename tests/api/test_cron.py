"""POST /api/cron/process-jobs runs ready jobs inside the request, through the worker's code."""

from __future__ import annotations

import pytest
from django.test import Client

from jobs import services
from jobs.models import Job, JobAttempt
from jobs.models import Worker as WorkerRow

SECRET = "cron-secret-for-tests-0123456789"
URL = "/api/cron/process-jobs"


@pytest.fixture
def secret(settings):
    settings.WEBHOOK_SECRET = SECRET
    return SECRET


def post(body=None, **headers):
    return Client().post(
        URL, body if body is not None else {}, content_type="application/json", headers=headers
    )


@pytest.mark.django_db
def test_without_a_configured_secret_the_endpoint_is_disabled(settings):
    settings.WEBHOOK_SECRET = None
    job = services.enqueue("noop", {})

    response = post(**{"X-Webhook-Secret": ""})

    assert response.status_code == 503
    assert "WEBHOOK_SECRET" in response.json()["message"]
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED


@pytest.mark.django_db
@pytest.mark.parametrize("given", [None, "", "wrong", SECRET + "x", SECRET[:-1]])
def test_wrong_or_missing_secret_is_401_and_runs_nothing(secret, given):
    job = services.enqueue("noop", {})
    headers = {} if given is None else {"X-Webhook-Secret": given}

    response = post({"maxJobs": 5}, **headers)

    assert response.status_code == 401
    assert response.json()["fields"][0]["field"] == "X-Webhook-Secret"
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
    assert job.attempts == 0


@pytest.mark.django_db
def test_secret_is_checked_before_the_body(secret):
    assert post({"maxJobs": "lots"}).status_code == 401
    response = post({"maxJobs": 0}, **{"X-Webhook-Secret": SECRET})
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "maxJobs"


@pytest.mark.django_db(transaction=True)
def test_runs_up_to_max_jobs_through_the_worker(secret):
    jobs = services.enqueue_many("noop", [{"n": n} for n in range(3)])

    response = post({"maxJobs": 2}, **{"X-Webhook-Secret": SECRET})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["processed"], body["succeeded"], body["failed"]) == (2, 2, 0)
    assert body["remaining"] == 1
    assert body["worker_id"].startswith("cron-")
    statuses = sorted(
        Job.objects.filter(pk__in=[j.pk for j in jobs]).values_list("status", flat=True)
    )
    assert statuses == ["queued", "succeeded", "succeeded"]
    done = Job.objects.filter(status=Job.Status.SUCCEEDED).first()
    assert done.result == done.payload
    assert JobAttempt.objects.get(job=done).worker_id == body["worker_id"]
    # The burst worker is gone once the request has answered.
    assert not WorkerRow.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_failures_are_retried_later_like_in_the_worker(secret, settings):
    settings.JOBS_RETRY_BACKOFF_BASE = settings.JOBS_RETRY_BACKOFF_MAX = 600
    job = services.enqueue("test_fail", {"message": "nope"}, max_attempts=2)

    body = post(**{"X-Webhook-Secret": SECRET}).json()

    assert (body["processed"], body["failed"]) == (1, 1)
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
    assert job.error == "RuntimeError: nope"
    assert job.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_only_the_given_queues_and_no_body_at_all(secret):
    services.enqueue("noop", {}, queue="mail")
    other = services.enqueue("noop", {}, queue="video")

    body = post({"queues": ["mail"]}, **{"X-Webhook-Secret": SECRET}).json()
    assert body["processed"] == 1
    other.refresh_from_db()
    assert other.status == Job.Status.QUEUED

    response = Client().generic("POST", URL, headers={"X-Webhook-Secret": SECRET})
    assert response.status_code == 200
    assert response.json()["processed"] == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("body", ["[null, null]", "[]", '"maxJobs"', "42", "true"])
def test_a_body_that_is_not_an_object_is_422_and_runs_nothing(secret, body):
    job = services.enqueue("noop", {})

    response = Client().generic(
        "POST", URL, body, content_type="application/json", headers={"X-Webhook-Secret": SECRET}
    )

    assert response.status_code == 422, response.content
    assert response.json()["error"] == "invalid_request"
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED


@pytest.mark.django_db(transaction=True)
def test_a_run_that_cannot_reach_the_database_is_503_not_an_empty_success(secret, postgres_only):
    """The worker row cannot be written (another session holds the table, and the request's
    connection gives up waiting after 1 s): the caller hears that nothing ran."""
    import psycopg
    from django.db import connection

    from tests.conftest import database_url

    job = services.enqueue("noop", {})
    name = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER DATABASE "{name}" SET lock_timeout = 1000')
    try:
        with psycopg.connect(database_url()) as holder:
            holder.execute("LOCK TABLE jobs_worker IN ACCESS EXCLUSIVE MODE")
            response = post(**{"X-Webhook-Secret": SECRET})
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{name}" RESET lock_timeout')

    assert response.status_code == 503, response.content
    assert response.json()["error"] == "unavailable"
    assert "stopped with an error" in response.json()["message"]
    assert "Traceback" not in response.content.decode()
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
