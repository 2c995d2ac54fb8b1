"""Who may see and do what, through tokens and sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from api.models import ApiToken, hash_token
from jobs import services
from jobs.models import Job

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/jobs"),
        ("get", "/api/jobs/1"),
        ("post", "/api/jobs/test_echo/start"),
        ("post", "/api/jobs/1/cancel"),
        ("post", "/api/jobs/1/requeue"),
    ],
)
def test_anonymous_requests_get_401(anonymous, method, path):
    response = getattr(anonymous, method)(path)

    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Job.objects.exists()


def test_another_users_job_is_404_like_a_missing_one(as_bob, alice):
    job = services.enqueue("noop", {}, owner=alice)

    for response in (
        as_bob.get(f"/api/jobs/{job.pk}"),
        as_bob.post(f"/api/jobs/{job.pk}/cancel"),
    ):
        assert response.status_code == 404
        assert response.json() == as_bob.get("/api/jobs/999999").json() | {
            "message": f"Job #{job.pk} not found."
        }
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
    assert as_bob.get("/api/jobs").json()["jobs"] == []
    assert as_bob.get("/api/jobs", action="stats").json()["stats"]["total"] == 0


def test_staff_see_everything(as_staff, alice, bob):
    services.enqueue("noop", {}, owner=alice)
    services.enqueue("noop", {}, owner=bob)

    assert as_staff.get("/api/jobs").json()["count"] == 2


def test_token_is_stored_hashed_and_shown_nowhere(alice):
    token, raw = ApiToken.objects.create_token(user=alice, name="laptop")

    assert raw.startswith("jat_")
    assert token.key_hash == hash_token(raw)
    assert raw not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    assert token.prefix == raw[:12]


def test_revoked_expired_and_inactive_tokens_stop_working(alice):
    token, raw = ApiToken.objects.create_token(user=alice, name="cli")
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    assert client.get("/api/jobs").status_code == 200

    token.revoke()
    assert client.get("/api/jobs").status_code == 401

    _, raw = ApiToken.objects.create_token(
        user=alice, name="old", expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/jobs").status_code == 401

    _, raw = ApiToken.objects.create_token(user=alice, name="new")
    alice.is_active = False
    alice.save()
    assert Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/jobs").status_code == 401


@pytest.mark.parametrize(
    "header", ["Bearer jat_wrong", "Bearer", "Basic YWxpY2U6eA==", "jat_x", "Bearer " + "x" * 500]
)
def test_malformed_or_wrong_authorization_is_401(header):
    assert Client(headers={"Authorization": header}).get("/api/jobs").status_code == 401


def test_token_records_when_it_was_last_used(alice):
    token, raw = ApiToken.objects.create_token(user=alice, name="cli")

    Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/jobs")

    token.refresh_from_db()
    assert token.last_used_at is not None


def test_session_reads_without_csrf_but_writes_need_it(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    assert client.get("/api/jobs").status_code == 200
    refused = client.post(
        "/api/jobs/test_echo/start", {"payload": {}}, content_type="application/json"
    )
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["message"]
    assert not Job.objects.exists()

    client.get("/admin/login/")  # sets the csrftoken cookie
    csrf = client.cookies["csrftoken"].value
    accepted = client.post(
        "/api/jobs/test_echo/start",
        {"payload": {}},
        content_type="application/json",
        headers={"X-CSRFToken": csrf},
    )
    assert accepted.status_code == 202
    assert Job.objects.get().owner == alice


def test_token_requests_need_no_csrf(alice):
    _, raw = ApiToken.objects.create_token(user=alice, name="cli")
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {raw}"})

    response = client.post(
        "/api/jobs/test_echo/start", {"payload": {}}, content_type="application/json"
    )

    assert response.status_code == 202


def test_per_user_limit_answers_429_with_a_clear_message(as_alice, as_bob, as_staff, settings):
    settings.MAX_JOBS_PER_USER = 2
    for _ in range(2):
        assert as_alice.post("/api/jobs/test_echo/start").status_code == 202

    refused = as_alice.post("/api/jobs/test_echo/start")

    assert refused.status_code == 429
    assert "limit is 2" in refused.json()["message"]
    assert "MAX_JOBS_PER_USER" in refused.json()["message"]
    assert refused["Retry-After"]
    assert Job.objects.filter(owner=as_alice.user).count() == 2
    # Other users and staff are not held back by alice's jobs.
    assert as_bob.post("/api/jobs/test_echo/start").status_code == 202
    for _ in range(3):
        assert as_staff.post("/api/jobs/test_echo/start").status_code == 202


def test_finished_jobs_do_not_count_against_the_limit(as_alice, settings):
    settings.MAX_JOBS_PER_USER = 1
    job_id = as_alice.post("/api/jobs/test_echo/start").json()["job_id"]
    assert as_alice.post("/api/jobs/test_echo/start").status_code == 429

    as_alice.post(f"/api/jobs/{job_id}/cancel")

    assert as_alice.post("/api/jobs/test_echo/start").status_code == 202


def test_unique_keys_are_per_user_so_no_one_learns_or_blocks_anothers(as_alice, as_bob):
    mine = as_alice.post("/api/jobs/test_echo/start", {"unique_key": "report-1"}).json()["job_id"]

    again = as_alice.post("/api/jobs/test_echo/start", {"unique_key": "report-1"})
    assert again.status_code == 202 and again.json()["job_id"] == mine
    theirs = as_bob.post("/api/jobs/test_echo/start", {"unique_key": "report-1"})
    assert theirs.status_code == 202  # bob's own job: alice's key neither blocks nor shows
    assert theirs.json()["job_id"] != mine
    assert Job.objects.get(pk=theirs.json()["job_id"]).owner == as_bob.user
    assert Job.objects.filter(unique_key="report-1", status="queued").count() == 2


def test_system_and_staff_jobs_keep_one_global_scope(as_staff, alice):
    system = services.enqueue("noop", {}, unique_key="nightly")
    assert services.enqueue("noop", {}, unique_key="nightly").pk == system.pk
    staff_job = as_staff.post("/api/jobs/noop/start", {"unique_key": "nightly"})
    assert staff_job.json()["job_id"] == system.pk  # staff share the global scope
    users = services.enqueue("noop", {}, unique_key="nightly", owner=alice)
    assert users.pk != system.pk  # a user's key is theirs alone


def test_admin_creates_a_token_shows_it_once_and_revokes_it(django_user_model, alice):
    admin = django_user_model.objects.create_superuser("root", email="")
    client = Client()
    client.force_login(admin)

    response = client.post(
        "/admin/api/apitoken/add/", {"user": alice.pk, "name": "cron host", "expires_at": ""}
    )

    assert response.status_code == 200
    token = ApiToken.objects.get()
    raw = response.context["raw_token"]
    assert raw in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert token.key_hash == hash_token(raw)
    as_token = Client(headers={"Authorization": f"Bearer {raw}"})
    assert as_token.get("/api/jobs").status_code == 200
    # The change page never shows it again.
    assert raw not in client.get(f"/admin/api/apitoken/{token.pk}/change/").content.decode()

    client.post(
        "/admin/api/apitoken/",
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
    )
    assert as_token.get("/api/jobs").status_code == 401
