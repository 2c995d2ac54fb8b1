"""Queues that staff steer, driven the way users do: the services, the ``queues`` command, the
API, the worker (in process). Runs on SQLite and PostgreSQL; several worker processes at once
are in ``test_queue_processes.py``."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.utils import timezone

from jobs import queues as controls
from jobs.controls import Queue
from jobs.models import Job, JobAttempt
from jobs.services import enqueue, enqueue_many
from jobs.worker import WorkerProcess as Worker

pytestmark = pytest.mark.django_db(transaction=True)


def burst(**options) -> Worker:
    worker = Worker(burst=True, concurrency=4, poll_interval=0.05, listen=False, **options)
    worker.run()
    return worker


def statuses(jobs: list[Job]) -> list[str]:
    return sorted(Job.objects.filter(pk__in=[j.pk for j in jobs]).values_list("status", flat=True))


def test_a_paused_queue_is_not_claimed_and_resuming_lets_it_run():
    paused = enqueue_many("noop", [{}] * 3, queue="ai")
    other = enqueue("noop", {}, queue="default")
    controls.queue_pause(name="ai", by="ops", reason="OpenAI is down")
    burst()
    assert statuses(paused) == ["queued"] * 3
    assert statuses([other]) == ["succeeded"]
    record = Queue.objects.get(name="ai")
    assert (record.paused, record.paused_by, record.pause_reason) == (True, "ops", "OpenAI is down")

    controls.queue_resume(name="ai")
    burst()
    assert statuses(paused) == ["succeeded"] * 3


def test_a_worker_on_named_queues_skips_only_the_paused_one():
    ai = enqueue("noop", {}, queue="ai")
    video = enqueue("noop", {}, queue="video")
    controls.queue_pause(name="ai")
    burst(queues=["ai", "video"])
    assert statuses([ai, video]) == ["queued", "succeeded"]
    burst(queues=["ai"])  # nothing it may take: exits at once
    assert statuses([ai]) == ["queued"]


def test_the_concurrency_limit_caps_running_jobs():
    controls.queue_set_limits(name="video", concurrency=2)
    enqueue_many("noop", [{}] * 5, queue="video")
    claimed = controls.claim_limited(worker_id="w1", queue="video", limit=10)
    assert len(claimed) == 2
    assert controls.claim_limited(worker_id="w2", queue="video", limit=10) == []
    claimed[0].mark_succeeded({})
    assert len(controls.claim_limited(worker_id="w2", queue="video", limit=10)) == 1


def test_the_rate_limit_counts_starts_in_a_sliding_window():
    controls.queue_set_limits(name="api", concurrency=None, rate=3, period=3600)
    jobs = enqueue_many("noop", [{}] * 5, queue="api")
    first = controls.claim_limited(worker_id="w1", queue="api", limit=2)
    for job in first:
        job.mark_succeeded({})
    assert len(controls.claim_limited(worker_id="w1", queue="api", limit=5)) == 1
    assert controls.claim_limited(worker_id="w1", queue="api", limit=5) == []
    # The window slides: starts older than the period no longer count.
    record = Queue.objects.get(name="api")
    old = (timezone.now() - timedelta(hours=2)).isoformat()
    Queue.objects.filter(pk=record.pk).update(recent_starts=[old] * 3)
    assert len(controls.claim_limited(worker_id="w1", queue="api", limit=5)) == 2
    assert statuses(jobs).count("queued") == 0


def test_a_limited_queue_runs_through_the_worker_and_unlimited_ones_too():
    controls.queue_set_limits(name="video", concurrency=1)
    limited = enqueue_many("noop", [{}] * 4, queue="video")
    free = enqueue_many("noop", [{}] * 4, queue="default")
    burst()
    assert statuses(limited + free) == ["succeeded"] * 8


def test_a_429_holds_the_queue_and_gives_the_job_back_without_using_an_attempt():
    job = enqueue("test_rate_limited", {"hold_seconds": 120}, queue="ai")
    other = enqueue("noop", {}, queue="ai")
    Worker(burst=True, concurrency=1, listen=False, max_jobs=1).run()
    job.refresh_from_db()
    record = Queue.objects.get(name="ai")
    assert job.status == Job.Status.QUEUED
    assert job.attempts == 0
    assert record.held()
    assert "429" in record.hold_reason
    assert job.run_at >= record.held_until - timedelta(seconds=1)
    attempt = JobAttempt.objects.get(job=job)
    assert attempt.outcome == JobAttempt.Outcome.RELEASED
    assert "Queue held until" in attempt.error
    burst()  # the held queue is left alone on every worker
    assert statuses([other]) == ["queued"]

    controls.queue_release_hold(name="ai")
    Job.objects.filter(pk=job.pk).update(payload={}, run_at=timezone.now())
    burst()
    assert statuses([job, other]) == ["succeeded", "succeeded"]


def test_a_longer_hold_is_not_shortened_by_a_later_shorter_one():
    controls.queue_hold(name="ai", seconds=600, reason="down")
    until = Queue.objects.get(name="ai").held_until
    controls.queue_hold(name="ai", seconds=5, reason="429")
    assert Queue.objects.get(name="ai").held_until == until


def test_the_snapshot_leaves_unrestricted_claims_unchanged():
    snapshot = controls.Controls()
    snapshot.refresh()
    assert snapshot.plan(["a", "b"]) == controls.ClaimPlan(["a", "b"], [], True, [])
    assert snapshot.plan([]) == controls.ClaimPlan([], [], True, [])
    controls.queue_pause(name="a")
    controls.queue_set_limits(name="c", concurrency=3)
    snapshot.invalidate()
    snapshot.refresh()
    assert snapshot.plan([]) == controls.ClaimPlan([], ["a", "c"], True, ["c"])
    assert snapshot.plan(["a"]) == controls.ClaimPlan([], [], False, [])


# --- the command ---------------------------------------------------------------------------


def run(*args: str) -> str:
    out = StringIO()
    call_command("queues", *args, stdout=out)
    return out.getvalue()


def test_queues_command_lists_pauses_limits_and_resumes():
    enqueue_many("noop", [{}] * 2, queue="video")
    assert "Paused queue video" in run("pause", "video", "--reason", "maintenance")
    assert "concurrency 2, rate 30/60s" in run(
        "limit", "video", "--concurrency", "2", "--rate", "30/minute"
    )
    rows = {row["name"]: row for row in json.loads(run("list", "--json"))}
    video = rows["video"]
    assert (video["ready"], video["paused"], video["pause_reason"]) == (2, True, "maintenance")
    assert (video["concurrency_limit"], video["rate_limit"], video["rate_period"]) == (2, 30, 60)
    table = run("list")
    assert "paused (maintenance)" in table and "max 2 running" in table
    run("resume", "video")
    assert "concurrency unlimited, rate 30/60s" in run("limit", "video", "--concurrency", "0")
    assert "rate unlimited" in run("limit", "video", "--rate", "none")
    assert not Queue.objects.get(name="video").paused


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["limit", "video", "--rate", "5/fortnight"], "is not a rate"),
        (["limit", "video"], "Give --concurrency"),
        (["pause", "bad name!"], "is not a queue name"),
        (["limit", "video", "--concurrency", "-1"], "is not a number"),
    ],
)
def test_queues_command_refuses_bad_input(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not Queue.objects.filter(paused=True).exists()


# --- the API ------------------------------------------------------------------------------


@pytest.fixture
def operator(django_user_model):
    user = django_user_model.objects.create_user("op", password="pw", is_staff=True)
    return user


def grant(user, *codenames: str) -> None:
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))


def test_api_needs_staff_and_the_permission(client, operator, django_user_model):
    plain = django_user_model.objects.create_user("u", password="pw")
    client.force_login(plain)
    assert client.get("/api/queues").status_code == 403
    client.force_login(operator)
    assert client.get("/api/queues").status_code == 403  # staff alone grants nothing
    grant(operator, "view_queue")
    operator = type(operator).objects.get(pk=operator.pk)
    client.force_login(operator)
    assert client.get("/api/queues").status_code == 200
    assert (
        client.post("/api/queues/ai/pause", {}, content_type="application/json").status_code == 403
    )
    grant(operator, "pause_queue")
    operator = type(operator).objects.get(pk=operator.pk)
    client.force_login(operator)
    answer = client.post(
        "/api/queues/ai/pause", {"reason": "429s"}, content_type="application/json"
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["paused"] is True and answer.json()["paused_by"] == "op"
    assert (
        client.put(
            "/api/queues/ai/limits", {"concurrency": 2}, content_type="application/json"
        ).status_code
        == 403
    )
    grant(operator, "limit_queue")
    client.force_login(type(operator).objects.get(pk=operator.pk))
    answer = client.put(
        "/api/queues/ai/limits", {"concurrency": 2, "rate": "5/2s"}, content_type="application/json"
    )
    assert answer.json()["concurrency_limit"] == 2 and answer.json()["rate_period"] == 2
    bad = client.put("/api/queues/ai/limits", {"rate": "lots"}, content_type="application/json")
    assert bad.status_code == 422 and "is not a rate" in bad.json()["message"]
    assert client.post("/api/queues/ai/resume").json()["paused"] is False


def test_a_database_error_claiming_a_limited_queue_is_logged_and_tried_again(monkeypatch, caplog):
    """The limited queues' claim fails (the database hiccups): the worker logs it, backs off
    and claims the job on a later pass, instead of dying on the error."""
    from django.db import OperationalError

    job = enqueue("noop", {}, queue="video")
    controls.queue_set_limits(name="video", concurrency=2)
    real = controls.claim_limited_queues
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    monkeypatch.setattr(controls, "claim_limited_queues", flaky)
    burst()
    assert len(calls) >= 2
    assert statuses([job]) == ["succeeded"]
    assert "claiming jobs of limited queues" in caplog.text


def test_a_burst_ends_when_a_rate_limit_holds_the_jobs_left():
    """A burst waits for a retry due in a moment, not for a rate limit's window to slide."""
    controls.queue_set_limits(name="api", concurrency=None, rate=2, period=3600)
    jobs = enqueue_many("noop", [{}] * 3, queue="api")
    burst()
    assert sorted(statuses(jobs)) == ["queued", "succeeded", "succeeded"]
