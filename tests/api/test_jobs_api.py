from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs import services
from jobs.models import Job

pytestmark = pytest.mark.django_db


def test_start_job_answers_where_to_poll(as_staff, staff):
    response = as_staff.post("/api/jobs/sleep/start", {"payload": {"seconds": 1}})

    assert response.status_code == 202, response.content
    body = response.json()
    job = Job.objects.get(pk=body["job_id"])
    assert job.owner == staff
    assert job.type == "sleep"
    assert job.payload == {"seconds": 1}
    assert body["status"] == "queued"
    assert body["status_url"] == f"/api/jobs/{job.pk}"
    assert body["poll_after"] > 0


def test_invalid_payload_says_which_field_and_why_and_writes_nothing(as_staff):
    response = as_staff.post("/api/jobs/sleep/start", {"payload": {"seconds": "soon"}})

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_payload"
    assert body["fields"] == [{"field": "payload", "location": "body", "message": body["message"]}]
    assert "seconds" in body["message"]
    assert not Job.objects.exists()


def test_schema_errors_name_the_field(as_alice):
    response = as_alice.post("/api/jobs/test_echo/start", {"payload": [1, 2], "delay": -1})

    assert response.status_code == 422
    fields = {item["field"]: item for item in response.json()["fields"]}
    assert set(fields) == {"payload", "delay"}
    assert fields["delay"]["location"] == "body"
    assert "greater than or equal to 0" in fields["delay"]["message"]


def test_malformed_json_is_a_400_with_json_body(as_alice):
    response = as_alice.client.post(
        "/api/jobs/test_echo/start",
        "{not json",
        content_type="application/json",
        headers=as_alice.headers,
    )

    assert response.status_code == 400
    assert response.json()["message"] == "The request body is not valid JSON."


@pytest.mark.parametrize("body", ["[1, 2]", "[]", '"payload"', "7", "false"])
def test_a_body_that_is_not_an_object_is_422_and_writes_nothing(as_alice, body):
    response = as_alice.client.generic(
        "POST",
        "/api/jobs/test_echo/start",
        body,
        content_type="application/json",
        headers=as_alice.headers,
    )

    assert response.status_code == 422, response.content
    assert response.json()["fields"][0]["field"] == "body"
    assert not Job.objects.exists()


def test_a_null_body_is_no_body(as_alice):
    response = as_alice.client.generic(
        "POST",
        "/api/jobs/test_echo/start",
        "null",
        content_type="application/json",
        headers=as_alice.headers,
    )

    assert response.status_code == 202


def test_unknown_type_is_404_listing_known_types(as_alice):
    response = as_alice.post("/api/jobs/nope/start", {"payload": {}})

    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "unknown_job_type"
    assert "noop" in body["message"]
    assert body["fields"][0]["field"] == "type"


def test_internal_task_type_cannot_be_started_through_the_api(as_staff):
    response = as_staff.post(
        "/api/jobs/django_task/start", {"payload": {"task": "os.system", "args": ["true"]}}
    )

    assert response.status_code == 404
    assert "django_task" not in response.json()["message"].split("Known types:")[1]
    assert not Job.objects.exists()


def test_nul_characters_are_refused_with_a_field_error(as_alice):
    response = as_alice.post("/api/jobs/test_echo/start", {"payload": {}, "unique_key": "a\x00b"})

    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "unique_key"


def test_priority_and_queue_are_for_staff(as_alice, as_staff):
    response = as_alice.post("/api/jobs/test_echo/start", {"payload": {}, "priority": 50})
    assert response.status_code == 403
    assert response.json()["fields"][0]["field"] == "priority"

    response = as_staff.post(
        "/api/jobs/test_echo/start", {"payload": {}, "priority": 50, "queue": "urgent"}
    )
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["job_id"])
    assert (job.priority, job.queue) == (50, "urgent")


def test_delay_schedules_the_job(as_alice):
    before = timezone.now()
    response = as_alice.post("/api/jobs/test_echo/start", {"payload": {}, "delay": 120})

    job = Job.objects.get(pk=response.json()["job_id"])
    assert job.run_at >= before + timedelta(seconds=119)
    assert response.json()["poll_after"] == 60.0


def test_job_detail_shows_progress_result_and_no_traceback(as_alice, alice):
    job = services.enqueue("noop", {"x": 1}, owner=alice)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.FAILED,
        error="RuntimeError: boom",
        traceback="Traceback (most recent call last): secret internals",
        progress=40,
        current_step="Analysing",
        finished_at=timezone.now(),
    )

    response = as_alice.get(f"/api/jobs/{job.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "failed"
    assert body["error"] == "RuntimeError: boom"
    assert body["progress"] == 40
    assert body["current_step"] == "Analysing"
    assert body["poll_after"] is None
    assert "traceback" not in body
    assert "secret internals" not in response.content.decode()


def test_list_actions(as_alice, alice, bob):
    queued = services.enqueue("noop", {}, owner=alice)
    running = services.enqueue("noop", {}, owner=alice)
    Job.objects.filter(pk=running.pk).update(status=Job.Status.RUNNING, started_at=timezone.now())
    services.enqueue("noop", {}, owner=bob)

    pending = as_alice.get("/api/jobs", action="pending").json()
    assert [job["id"] for job in pending["jobs"]] == [queued.pk]
    active = as_alice.get("/api/jobs", action="active").json()
    assert [job["id"] for job in active["jobs"]] == [running.pk]
    recent = as_alice.get("/api/jobs").json()
    assert recent["action"] == "recent"
    assert [job["id"] for job in recent["jobs"]] == [running.pk, queued.pk]

    stats = as_alice.get("/api/jobs", action="stats").json()["stats"]
    assert stats["total"] == 2
    assert stats["by_status"]["queued"] == 1
    assert stats["by_status"]["running"] == 1
    assert stats["by_type"]["noop"]["queued"] == 1


def test_list_with_a_bad_action_names_the_field(as_alice):
    response = as_alice.get("/api/jobs", action="everything")

    assert response.status_code == 422
    field = response.json()["fields"][0]
    assert (field["field"], field["location"]) == ("action", "query")
    assert "pending" in field["message"]


def test_by_brief_needs_a_brief_id(as_alice):
    response = as_alice.get("/api/jobs", action="by_brief")

    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "brief_id"


def test_cancel_a_queued_job(as_alice, alice):
    job = services.enqueue("noop", {}, owner=alice)

    response = as_alice.post(f"/api/jobs/{job.pk}/cancel")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = as_alice.post(f"/api/jobs/{job.pk}/cancel")
    assert again.status_code == 409
    assert "cancelled" in again.json()["message"]


def test_cancel_a_running_job_asks_it_to_stop(as_alice, alice):
    job = services.enqueue("noop", {}, owner=alice)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)

    response = as_alice.post(f"/api/jobs/{job.pk}/cancel")

    assert response.status_code == 200
    assert response.json()["status"] == "running"
    assert response.json()["cancel_requested"] is True


def test_requeue_is_staff_only(as_alice, as_staff, alice):
    job = services.enqueue("noop", {}, owner=alice)
    job.cancel()

    assert as_alice.post(f"/api/jobs/{job.pk}/requeue").status_code == 403
    response = as_staff.post(f"/api/jobs/{job.pk}/requeue")
    assert response.status_code == 200
    assert response.json()["status"] == "queued"
    assert as_staff.post(f"/api/jobs/{job.pk}/requeue").status_code == 409


def test_huge_ids_are_refused_before_the_database(as_alice):
    response = as_alice.get(f"/api/jobs/{2**70}")

    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "job_id"


def test_unknown_api_path_is_json_404(as_alice):
    response = as_alice.get("/api/nothing/here")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_the_earlier_systems_urls_still_answer(as_alice, alice, client):
    job = services.enqueue("noop", {}, owner=alice)

    assert as_alice.get(f"/api/jobs/noop/status/{job.pk}").json()["id"] == job.pk
    assert as_alice.get(f"/api/jobs/sleep/status/{job.pk}").status_code == 404
    assert client.get("/api/jobs/health").json()["status"] in ("healthy", "degraded")


def test_start_without_a_body_uses_an_empty_payload(as_alice):
    response = as_alice.client.generic(
        "POST", "/api/jobs/test_echo/start", headers=as_alice.headers
    )

    assert response.status_code == 202, response.content
    assert Job.objects.get().payload == {}


# --- issue 11, hole 9: amplification --------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "payload"),
    [("noop", {"blob": "x" * 1000}), ("sleep", {"seconds": 3600}), ("test_fail", {})],
)
def test_users_start_only_job_types_marked_user_startable(as_alice, type_, payload):
    response = as_alice.post(f"/api/jobs/{type_}/start", {"payload": payload})

    assert response.status_code == 403
    assert "cannot be started through the API" in response.json()["message"]
    assert "test_echo" in response.json()["message"]  # says which types may be started
    assert not Job.objects.exists()


def test_results_in_answers_have_a_size_bound(as_staff, settings):
    settings.API_MAX_RESULT_BYTES = 10_000
    big = services.enqueue("noop", {}, owner=as_staff.user)
    small = services.enqueue("noop", {}, owner=as_staff.user)
    Job.objects.filter(pk=big.pk).update(status=Job.Status.SUCCEEDED, result={"x": "y" * 50_000})
    Job.objects.filter(pk=small.pk).update(status=Job.Status.SUCCEEDED, result={"x": "y"})

    one = as_staff.get(f"/api/jobs/{big.pk}")
    assert one.json()["result"] is None and one.json()["result_truncated"] is True
    assert len(one.content) < 5_000
    listed = {job["id"]: job for job in as_staff.get("/api/jobs").json()["jobs"]}
    assert listed[big.pk]["result_truncated"] and listed[small.pk]["result"] == {"x": "y"}
