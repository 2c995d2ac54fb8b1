"""The /test-worker dashboard with Django's test client: access, sections, actions, permissions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import HTMX_STOP_POLLING

from jobs import selectors
from jobs.models import Job, JobAttempt, Worker
from jobs.services import enqueue

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
DASHBOARD = reverse("jobs:dashboard")
GET_VIEWS = ["overview", "queues", "chart", "active", "pending", "workers", "failures"]


@pytest.fixture(autouse=True)
def exact_totals(settings):
    """Every request counts afresh (the totals cache has its own test)."""
    settings.JOBS_DASHBOARD_TOTALS_TTL = 0


@pytest.fixture
def staff(django_user_model):
    """Staff with every job permission."""
    user = django_user_model.objects.create_user("ops", is_staff=True)
    for codename in ("view_job", "add_job", "requeue_job", "cancel_job"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def bare_staff(django_user_model):
    """Staff without any job permission: may watch, may not act."""
    return django_user_model.objects.create_user("watcher", is_staff=True)


def finish(job: Job, status: str, *, ago: float = 0, error: str = "") -> Job:
    now = timezone.now() - timedelta(seconds=ago)
    Job.objects.filter(pk=job.pk).update(
        status=status, finished_at=now, started_at=now, attempts=1, error=error
    )
    job.refresh_from_db()
    return job


def start(job: Job, *, worker_id: str = "w-1", progress: int = 0, step: str = "") -> Job:
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING,
        worker_id=worker_id,
        attempts=1,
        started_at=now,
        lease_expires_at=now + timedelta(seconds=30),
        progress=progress,
        current_step=step,
    )
    JobAttempt.objects.create(job=job, number=1, worker_id=worker_id, started_at=now)
    job.refresh_from_db()
    return job


# --- access --------------------------------------------------------------------------------


ALL_GETS = [reverse(f"jobs:{name}") for name in GET_VIEWS] + [DASHBOARD]


@pytest.mark.parametrize("url", ALL_GETS)
def test_anonymous_goes_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_anonymous_htmx_poll_redirects_the_whole_page(client):
    response = client.get(reverse("jobs:overview"), **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("admin:login"))
    assert "next=%2Ftest-worker%2F" in response["HX-Redirect"]


@pytest.mark.parametrize("url", ALL_GETS)
def test_non_staff_is_forbidden(client, django_user_model, url):
    client.force_login(django_user_model.objects.create_user("customer"))
    assert client.get(url).status_code == 403


def test_non_staff_cannot_post(client, django_user_model):
    job = finish(enqueue("noop", {}), Job.Status.FAILED)
    user = django_user_model.objects.create_user("customer")
    user.user_permissions.add(Permission.objects.get(codename="requeue_job"))
    client.force_login(user)
    assert client.post(reverse("jobs:job_requeue", args=[job.pk])).status_code == 403
    assert client.post(reverse("jobs:enqueue"), {"type": "noop"}).status_code == 403
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED


@pytest.mark.parametrize("name", GET_VIEWS)
def test_get_views_refuse_post(staff_client, name):
    assert staff_client.post(reverse(f"jobs:{name}")).status_code == 405


def test_post_views_refuse_get(staff_client):
    job = enqueue("noop", {})
    for name in ("job_requeue", "job_cancel"):
        assert staff_client.get(reverse(f"jobs:{name}", args=[job.pk])).status_code == 405
    assert staff_client.get(reverse("jobs:enqueue")).status_code == 405


def test_post_needs_csrf(client, staff):
    job = finish(enqueue("noop", {}), Job.Status.FAILED)
    client.handler.enforce_csrf_checks = True
    client.force_login(staff)
    assert client.post(reverse("jobs:job_requeue", args=[job.pk]), **HTMX).status_code == 403
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED


# --- the page ------------------------------------------------------------------------------


def test_dashboard_renders_every_section_with_live_triggers(staff_client):
    failed = finish(enqueue("test_fail", {}), Job.Status.FAILED, error="RuntimeError: boom")
    running = start(enqueue("sleep", {"seconds": 5}), progress=40, step="Sleeping 5s")
    enqueue("noop", {}, queue="fast")
    Worker.objects.create(id="w-1", hostname="box", pid=7, concurrency=4)
    response = staff_client.get(DASHBOARD)
    html = response.content.decode()
    assert response.status_code == 200
    for name in GET_VIEWS:
        assert f'hx-get="{reverse(f"jobs:{name}")}"' in html
    assert 'hx-trigger="every 2s' in html
    assert "/static/jobs/htmx.min.js" in html and "unpkg" not in html and "cdn" not in html
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert f'data-job-id="{failed.pk}"' in html
    assert "RuntimeError: boom" in html
    assert f'id="running-{running.pk}"' in html and "Sleeping 5s" in html
    assert 'style="width: 40%"' in html
    assert 'data-queue="fast"' in html
    assert 'data-worker="w-1"' in html
    assert '<aside id="job-detail" class="drawer" hidden>' in html


def test_dashboard_opens_a_job_from_the_url(staff_client):
    job = enqueue("noop", {"hello": "world"})
    html = staff_client.get(f"{DASHBOARD}?job={job.pk}").content.decode()
    assert f'<aside id="job-detail" class="drawer" data-job-id="{job.pk}"' in html
    assert "&quot;hello&quot;: &quot;world&quot;" in html
    # a bad id just shows the page
    assert staff_client.get(f"{DASHBOARD}?job=abc").status_code == 200
    assert staff_client.get(f"{DASHBOARD}?job=999999").status_code == 200


def test_overview_counts(staff_client):
    finish(enqueue("noop", {}), Job.Status.SUCCEEDED)
    finish(enqueue("noop", {}), Job.Status.FAILED)
    enqueue("noop", {})
    enqueue("noop", {}, delay=600)
    stuck = start(enqueue("noop", {}))
    Job.objects.filter(pk=stuck.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=5))
    response = staff_client.get(reverse("jobs:overview"), **HTMX)
    html = response.content.decode()
    assert "<html" not in html  # a partial, not a page
    for name, value in {
        "ready": 1,
        "scheduled": 1,
        "running": 1,
        "succeeded": 1,
        "failed": 1,
        "cancelled": 0,
    }.items():
        assert f'data-count="{name}">{value}<' in html
    assert f'href="{reverse("admin:jobs_job_changelist")}?stuck=yes">1</a>' in html


def test_oldest_waiting_ignores_scheduled_jobs(staff_client):
    old = enqueue("noop", {})
    Job.objects.filter(pk=old.pk).update(run_at=timezone.now() - timedelta(minutes=5))
    enqueue("noop", {}, delay=3600)
    waiting = selectors.waiting()
    assert waiting.oldest is not None and waiting.oldest.pk == old.pk
    html = staff_client.get(reverse("jobs:overview"), **HTMX).content.decode()
    assert "5m 0" in html


def test_queue_depths_by_queue_and_type(staff_client):
    enqueue("noop", {}, queue="a")
    enqueue("noop", {}, queue="a")
    start(enqueue("sleep", {"seconds": 1}, queue="a"))
    enqueue("noop", {}, queue="b")
    finish(enqueue("noop", {}, queue="c"), Job.Status.SUCCEEDED)
    assert selectors.queue_depths() == [
        selectors.QueueDepth(queue="a", type="noop", queued=2, running=0),
        selectors.QueueDepth(queue="a", type="sleep", queued=0, running=1),
        selectors.QueueDepth(queue="b", type="noop", queued=1, running=0),
    ]
    html = staff_client.get(reverse("jobs:queues"), **HTMX).content.decode()
    assert 'data-queue="a" data-type="noop"' in html and 'data-queue="c"' not in html


def test_throughput_chart_and_success_rate(staff_client):
    for _ in range(3):
        finish(enqueue("noop", {}), Job.Status.SUCCEEDED, ago=120)
    finish(enqueue("noop", {}), Job.Status.FAILED, ago=60)
    finish(enqueue("noop", {}), Job.Status.CANCELLED, ago=60)
    finish(enqueue("noop", {}), Job.Status.SUCCEEDED, ago=7200)  # older than the hour
    data = selectors.throughput()
    assert len(data.minutes) == 60
    assert (data.succeeded, data.failed, data.peak) == (3, 1, 3)
    assert data.success_rate == 0.75
    html = staff_client.get(reverse("jobs:chart"), **HTMX).content.decode()
    assert (
        "<svg" in html and html.count('class="bar-ok"') == 1 and html.count('class="bar-bad"') == 1
    )
    assert "75.0%" in html
    assert "peak 3/min" in html


def test_chart_with_no_jobs(staff_client):
    html = staff_client.get(reverse("jobs:chart"), **HTMX).content.decode()
    assert "no jobs finished" in html and "bar-ok" not in html


def test_pending_lists_the_next_jobs_in_claim_order(staff_client):
    low = enqueue("noop", {}, priority=0)
    high = enqueue("noop", {}, priority=5)
    later = enqueue("noop", {}, delay=3600)
    html = staff_client.get(reverse("jobs:pending"), **HTMX).content.decode()
    assert html.index(f'data-job-id="{high.pk}"') < html.index(f'data-job-id="{low.pk}"')
    assert f'data-job-id="{later.pk}"' not in html
    assert "2 ready · 1 scheduled" in html


def test_lists_are_bounded(staff_client):
    from jobs.services import enqueue_many

    jobs = enqueue_many("noop", [{}] * (selectors.LIST_LIMIT + 5))
    html = staff_client.get(reverse("jobs:pending"), **HTMX).content.decode()
    assert html.count("data-job-id=") == selectors.LIST_LIMIT
    assert f"{len(jobs)} ready in all" in html


def test_active_shows_progress_and_step(staff_client):
    job = start(enqueue("sleep", {"seconds": 9}), progress=63, step="Rendering scene 3")
    html = staff_client.get(reverse("jobs:active"), **HTMX).content.decode()
    assert 'aria-valuenow="63"' in html and "Rendering scene 3" in html
    assert reverse("jobs:job_cancel", args=[job.pk]) in html


def test_workers_show_heartbeat_and_load(staff_client):
    Worker.objects.create(id="w-live", hostname="box", pid=1, concurrency=4)
    Worker.objects.create(
        id="w-gone",
        hostname="box",
        pid=2,
        concurrency=2,
        last_heartbeat=timezone.now() - timedelta(hours=2),
    )
    start(enqueue("noop", {}), worker_id="w-live")
    statuses = {s.worker.pk: s for s in selectors.worker_statuses()}
    assert statuses["w-live"].alive and statuses["w-live"].load == 0.25
    assert not statuses["w-gone"].alive
    html = staff_client.get(reverse("jobs:workers"), **HTMX).content.decode()
    assert "1/4 busy" in html and 'data-state="dead"' in html
    assert html.index('data-worker="w-live"') < html.index('data-worker="w-gone"')


def test_failures_show_error_and_requeue_button(staff_client):
    job = finish(enqueue("noop", {}), Job.Status.FAILED, error="ValueError: bad frame")
    finish(enqueue("noop", {}), Job.Status.SUCCEEDED)
    html = staff_client.get(reverse("jobs:failures"), **HTMX).content.decode()
    assert "ValueError: bad frame" in html
    assert reverse("jobs:job_requeue", args=[job.pk]) in html
    assert html.count("data-job-id=") == 1


def test_buttons_hidden_without_permissions(client, bare_staff):
    failed = finish(enqueue("noop", {}), Job.Status.FAILED)
    running = start(enqueue("noop", {}))
    client.force_login(bare_staff)
    html = client.get(DASHBOARD).content.decode()
    assert reverse("jobs:job_requeue", args=[failed.pk]) not in html
    assert reverse("jobs:job_cancel", args=[running.pk]) not in html
    assert "You do not have the permission to add jobs." in html


# --- the job panel -------------------------------------------------------------------------


def test_detail_polls_while_live(staff_client):
    job = start(enqueue("sleep", {"seconds": 9}), progress=10)
    response = staff_client.get(reverse("jobs:job_detail", args=[job.pk]), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'hx-trigger="every 1s [jobsLive()]"' in html and 'data-status="running"' in html


def test_detail_stops_polling_once_finished(staff_client):
    job = finish(enqueue("noop", {}), Job.Status.SUCCEEDED)
    Job.objects.filter(pk=job.pk).update(result={"frames": 24})
    response = staff_client.get(reverse("jobs:job_detail", args=[job.pk]), **HTMX)
    html = response.content.decode()
    assert response.status_code == HTMX_STOP_POLLING
    assert "hx-trigger" not in html and 'data-status="succeeded"' in html
    assert "&quot;frames&quot;: 24" in html


def test_detail_without_htmx_opens_the_page(staff_client):
    job = enqueue("noop", {})
    response = staff_client.get(reverse("jobs:job_detail", args=[job.pk]))
    assert response.status_code == 302 and response["Location"] == f"{DASHBOARD}?job={job.pk}"


def test_detail_of_missing_job_is_404(staff_client):
    assert staff_client.get(reverse("jobs:job_detail", args=[999999]), **HTMX).status_code == 404


def test_detail_shows_attempts_and_traceback(staff_client):
    job = finish(enqueue("noop", {}), Job.Status.FAILED, error="boom")
    Job.objects.filter(pk=job.pk).update(traceback="Traceback: <line 1>")
    JobAttempt.objects.create(
        job=job,
        number=1,
        worker_id="w",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        outcome="failed",
        error="attempt one broke",
    )
    html = staff_client.get(reverse("jobs:job_detail", args=[job.pk]), **HTMX).content.decode()
    assert "Traceback: &lt;line 1&gt;" in html and "attempt one broke" in html


# --- requeue and cancel --------------------------------------------------------------------


def test_requeue_from_a_row_swaps_the_row(staff_client):
    job = finish(enqueue("noop", {}), Job.Status.FAILED, error="boom")
    url = reverse("jobs:job_requeue", args=[job.pk])
    response = staff_client.post(url, HTTP_HX_TARGET=f"job-row-{job.pk}", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="job-row-{job.pk}"')
    assert f"Requeued job #{job.pk}." in html and 'data-state="queued"' in html
    assert response["HX-Trigger"] == '{"jobs-changed": {}}'
    job.refresh_from_db()
    assert (job.status, job.attempts, job.error) == (Job.Status.QUEUED, 0, "")


def test_requeue_from_the_panel_swaps_the_panel_and_polls_again(staff_client):
    job = finish(enqueue("noop", {}), Job.Status.CANCELLED)
    url = reverse("jobs:job_requeue", args=[job.pk])
    html = staff_client.post(url, HTTP_HX_TARGET="job-detail", **HTMX).content.decode()
    assert html.lstrip().startswith('<aside id="job-detail"')
    assert 'hx-trigger="every 1s [jobsLive()]"' in html


def test_requeue_of_a_live_job_says_why_not(staff_client):
    job = enqueue("noop", {})
    url = reverse("jobs:job_requeue", args=[job.pk])
    html = staff_client.post(url, HTTP_HX_TARGET=f"job-row-{job.pk}", **HTMX).content.decode()
    assert f"Job #{job.pk} is queued: not requeued." in html


def test_staff_without_permission_cannot_requeue(client, bare_staff):
    job = finish(enqueue("noop", {}), Job.Status.FAILED)
    client.force_login(bare_staff)
    response = client.post(reverse("jobs:job_requeue", args=[job.pk]), **HTMX)
    assert response.status_code == 403
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED


def test_staff_without_permission_cannot_cancel(client, bare_staff):
    job = enqueue("noop", {})
    client.force_login(bare_staff)
    assert client.post(reverse("jobs:job_cancel", args=[job.pk]), **HTMX).status_code == 403
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED


def test_cancel_queued_and_running(staff_client):
    queued = enqueue("noop", {})
    running = start(enqueue("sleep", {"seconds": 9}))
    html = staff_client.post(
        reverse("jobs:job_cancel", args=[queued.pk]), HTTP_HX_TARGET="job-detail", **HTMX
    ).content.decode()
    assert f"Cancelled job #{queued.pk}." in html
    html = staff_client.post(
        reverse("jobs:job_cancel", args=[running.pk]),
        HTTP_HX_TARGET=f"running-{running.pk}",
        **HTMX,
    ).content.decode()
    assert html.lstrip().startswith(f'<li class="running-job" id="running-{running.pk}"')
    assert f"Asked job #{running.pk} to stop." in html and "Cancelling" in html
    queued.refresh_from_db()
    running.refresh_from_db()
    assert queued.status == Job.Status.CANCELLED and queued.error == "Cancelled by ops"
    assert running.cancel_requested


def test_cancel_of_finished_job_says_so(staff_client):
    job = finish(enqueue("noop", {}), Job.Status.SUCCEEDED)
    html = staff_client.post(reverse("jobs:job_cancel", args=[job.pk]), **HTMX).content.decode()
    assert "had already finished" in html


def test_post_without_htmx_redirects_with_a_message(staff_client):
    job = finish(enqueue("noop", {}), Job.Status.FAILED)
    response = staff_client.post(reverse("jobs:job_requeue", args=[job.pk]), follow=True)
    assert response.redirect_chain[-1][0] == f"{DASHBOARD}?job={job.pk}"
    assert f"Requeued job #{job.pk}." in response.content.decode()


def test_actions_on_missing_job_are_404(staff_client):
    for name in ("job_requeue", "job_cancel"):
        assert staff_client.post(reverse(f"jobs:{name}", args=[999999]), **HTMX).status_code == 404


# --- enqueue test work ---------------------------------------------------------------------


def test_enqueue_many(staff_client, staff):
    data = {"type": "sleep", "payload": '{"seconds": 2}', "count": 3, "priority": 4, "queue": ""}
    response = staff_client.post(reverse("jobs:enqueue"), data, **HTMX)
    assert response.status_code == 200
    assert 'data-enqueued="3"' in response.content.decode()
    assert response["HX-Trigger"] == '{"jobs-changed": {}}'
    jobs = list(Job.objects.all())
    assert len(jobs) == 3
    assert {(j.type, j.priority, j.queue, j.owner_id) for j in jobs} == {
        ("sleep", 4, "default", None)
    }


def test_enqueue_one_links_to_it(staff_client):
    data = {"type": "noop", "payload": "{}", "count": 1, "priority": 0, "delay": "30"}
    html = staff_client.post(reverse("jobs:enqueue"), data, **HTMX).content.decode()
    job = Job.objects.get()
    assert f'data-job="{job.pk}"' in html
    assert job.run_at > timezone.now() + timedelta(seconds=20)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "sleep", "payload": "{not json"}, "Not valid JSON"),
        ({"type": "sleep", "payload": "[1, 2]"}, "must be a JSON object"),
        ({"type": "sleep", "payload": '{"seconds": "x"}'}, "sleep needs {&quot;seconds&quot;"),
        ({"type": "nope", "payload": "{}"}, "Select a valid choice"),
        ({"type": "noop", "payload": "{}", "count": 0}, "greater than or equal to 1"),
        ({"type": "noop", "payload": "{}", "count": 5000}, "less than or equal to 1000"),
    ],
)
def test_enqueue_bad_input_gets_a_clear_error_and_writes_nothing(staff_client, data, message):
    data = {"count": 1, "priority": 0} | data
    response = staff_client.post(reverse("jobs:enqueue"), data, **HTMX)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Job.objects.exists()


def test_enqueue_without_htmx(staff_client):
    data = {"type": "noop", "payload": "{}", "count": 2, "priority": 0}
    response = staff_client.post(reverse("jobs:enqueue"), data, follow=True)
    assert "Enqueued 2 job(s)." in response.content.decode()
    bad = staff_client.post(reverse("jobs:enqueue"), {"type": "noop", "payload": "x"})
    assert bad.status_code == 422 and "Not valid JSON" in bad.content.decode()


def test_enqueue_needs_permission(client, bare_staff):
    client.force_login(bare_staff)
    data = {"type": "noop", "payload": "{}", "count": 1, "priority": 0}
    assert client.post(reverse("jobs:enqueue"), data, **HTMX).status_code == 403
    assert not Job.objects.exists()


def test_requeue_without_credits_says_why(staff_client, django_user_model, settings):
    from tests.credits.test_admin import paid_failed_job

    job = paid_failed_job(django_user_model.objects.create_user("payer"), settings)
    url = reverse("jobs:job_requeue", args=[job.pk])
    html = staff_client.post(url, HTTP_HX_TARGET=f"job-row-{job.pk}", **HTMX).content.decode()
    assert f"Job #{job.pk} was not requeued: Not enough credits" in html
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED


def test_finished_totals_are_reused_for_a_while(settings):
    from django.core.cache import cache

    settings.JOBS_DASHBOARD_TOTALS_TTL = 60
    cache.delete(selectors.FINISHED_TOTALS_KEY)
    finish(enqueue("noop", {}), Job.Status.SUCCEEDED)
    assert selectors.dashboard_counts()["succeeded"] == 1
    finish(enqueue("noop", {}), Job.Status.SUCCEEDED)
    queued = enqueue("noop", {})
    counts = selectors.dashboard_counts()
    assert counts["succeeded"] == 1  # the cached total
    assert counts["queued"] == 1  # live counts are always exact
    cache.delete(selectors.FINISHED_TOTALS_KEY)
    assert selectors.dashboard_counts()["succeeded"] == 2
    assert selectors.job_counts_by_status() == selectors.dashboard_counts()
    assert queued.status == Job.Status.QUEUED
