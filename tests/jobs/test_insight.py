"""What operators read: queue pages, job types, tiles that agree with their lists, workers told
to go quiet or stop, and ``jobstats`` breakdowns."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from jobs import insight, selectors
from jobs import queues as controls
from jobs.models import Job
from jobs.models import Worker as WorkerRow
from jobs.services import enqueue
from jobs.worker import WorkerProcess as Worker
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db


def finished(
    type_: str, status: str, *, run: float, wait: float, queue: str = "default", error: str = ""
) -> Job:
    now = timezone.now()
    started = now - timedelta(seconds=run)
    return Job.objects.create(
        type=type_,
        queue=queue,
        status=status,
        error=error,
        created_at=started - timedelta(seconds=wait),
        started_at=started,
        finished_at=now,
    )


@pytest.fixture
def staff(django_user_model):
    """Staff who may watch the dashboard (``jobs.view_job``) and nothing more."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("s", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_job"))
    return user


def test_ready_counts_only_what_a_worker_would_take(client, staff):
    first = enqueue("noop", {})
    enqueue("noop", {}, depends_on=first)  # waits on an earlier step
    enqueue("noop", {}, delay=600)
    waiting = selectors.waiting()
    assert (waiting.ready, waiting.blocked, waiting.scheduled) == (1, 1, 1)
    assert len(selectors.pending_jobs()) == waiting.ready
    client.force_login(staff)
    tiles = client.get(reverse("jobs:overview")).content.decode()
    assert 'data-count="ready">1<' in tiles and 'data-count="blocked">1<' in tiles
    [summary] = [s for s in insight.queue_summaries() if s.name == "default"]
    assert (summary.ready, summary.blocked, summary.scheduled) == (1, 1, 1)


def test_failed_tile_agrees_with_the_failures_list_even_with_the_cache_on(client, staff, settings):
    from django.core.cache import cache

    settings.JOBS_DASHBOARD_TOTALS_TTL = 60
    cache.delete(selectors.FINISHED_TOTALS_KEY)
    selectors.dashboard_counts()  # cached now
    finished("noop", "failed", run=1, wait=1, error="boom")
    assert selectors.dashboard_counts()["failed"] == len(selectors.recent_failures()) == 1


def test_queue_page_shows_state_limits_and_percentiles(client, staff):
    for seconds in (1, 2, 3, 4, 100):
        finished("noop", "succeeded", run=seconds, wait=seconds / 10, queue="video")
    controls.queue_set_limits(name="video", concurrency=2, rate=30, period=60)
    controls.queue_pause(name="video", by="ops", reason="provider down")
    controls.queue_hold(name="video", seconds=60, reason="429 Retry-After")
    client.force_login(staff)
    page = client.get(reverse("jobs:queue", args=["video"])).content.decode()
    assert "Paused</strong> by ops" in page and "provider down" in page
    assert "Held until" in page and "429 Retry-After" in page
    assert "Concurrency: 2" in page and "30/60s" in page
    [hour, *_] = insight.queue_windows("video")
    assert hour.timings.finished == 5
    assert hour.timings.run_p50 == pytest.approx(3, abs=0.1)
    assert hour.timings.run_p95 == pytest.approx(100, abs=0.1)
    dashboard = client.get(reverse("jobs:queues")).content.decode()
    assert "paused" in dashboard and "held until" in dashboard


def test_pause_and_resume_from_the_dashboard_need_the_permission(client, staff):
    client.force_login(staff)
    url = reverse("jobs:queue_control", args=["ai", "pause"])
    assert client.post(url, {"reason": "x"}).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="pause_queue"))
    client.force_login(type(staff).objects.get(pk=staff.pk))
    client.post(url, {"reason": "OpenAI down"})
    assert controls.queue_record("ai").paused
    client.post(reverse("jobs:queue_control", args=["ai", "resume"]))
    assert not controls.queue_record("ai").paused


def test_job_types_are_sortable_with_failure_rate_and_last_error(client, staff):
    for _ in range(3):
        finished("fast", "succeeded", run=0.1, wait=0)
    finished("slow", "succeeded", run=50, wait=0)
    finished("slow", "failed", run=60, wait=0, error="OpenAI 503")
    stats = insight.type_stats(sort="failure")
    assert [s.type for s in stats] == ["slow", "fast"]
    assert stats[0].failure_rate == 0.5 and stats[0].last_error == "OpenAI 503"
    assert [s.type for s in insight.type_stats(sort="count")] == ["fast", "slow"]
    client.force_login(staff)
    page = client.get(reverse("jobs:types"), {"sort": "p95", "window": "7d"}).content.decode()
    assert page.index('data-type="slow"') < page.index('data-type="fast"')
    assert "50.0%" in page


@pytest.mark.django_db(transaction=True)
def test_a_worker_told_quiet_takes_no_more_and_one_told_stop_stops(settings, staff):
    settings.JOBS_LEASE_SECONDS = 0.3  # a heartbeat every 0.1 s
    worker = Worker(concurrency=1, poll_interval=0.05, listen=False, scheduler=False)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        wait_for(lambda: WorkerRow.objects.filter(pk=worker.id).exists())
        WorkerRow.objects.filter(pk=worker.id).update(command="quiet")
        wait_for(lambda: WorkerRow.objects.filter(pk=worker.id, status="quiet").exists())
        job = enqueue("noop", {})
        seen = WorkerRow.objects.get(pk=worker.id).last_heartbeat

        def two_more_heartbeats() -> bool:
            """the quiet worker went round its loop and heartbeat twice with a job ready"""
            beat = WorkerRow.objects.get(pk=worker.id).last_heartbeat
            return beat - seen > timedelta(seconds=0.15)

        wait_for(two_more_heartbeats)
        assert Job.objects.get(pk=job.pk).status == "queued"
        marker = enqueue("noop", {})
        WorkerRow.objects.filter(pk=worker.id).update(command="")
        wait_for(lambda: Job.objects.filter(pk=marker.pk, status="succeeded").exists())
        WorkerRow.objects.filter(pk=worker.id).update(command="stop")
        thread.join(timeout=10)
        assert not thread.is_alive()
    finally:
        worker.stop(force=True)
        thread.join(timeout=10)


def test_worker_commands_from_the_dashboard_need_the_permission(client, staff):
    WorkerRow.objects.create(id="w-1", hostname="h", pid=1, concurrency=1)
    client.force_login(staff)
    url = reverse("jobs:worker_command", args=["w-1", "quiet"])
    assert client.post(url).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="control_worker"))
    client.force_login(type(staff).objects.get(pk=staff.pk))
    assert client.post(url).status_code == 302
    assert WorkerRow.objects.get(pk="w-1").command == "quiet"
    page = client.get(reverse("jobs:workers")).content.decode()
    assert "told to quiet" in page and "Take jobs" in page


def test_jobstats_breaks_down_by_queue_and_type():
    enqueue("noop", {}, queue="ai")
    finished("sleep", "failed", run=1, wait=1, queue="video")
    out = StringIO()
    call_command("jobstats", "--json", "--by", "queue", stdout=out)
    by_queue = json.loads(out.getvalue())
    assert by_queue["ai"]["queued"] == 1 and by_queue["video"]["failed"] == 1
    out = StringIO()
    call_command("jobstats", "--json", stdout=out)
    assert json.loads(out.getvalue())["queued"] == 1  # unchanged shape
    out = StringIO()
    call_command("jobstats", stdout=out)
    table = out.getvalue()
    assert "queue" in table and "video" in table and "sleep" in table
