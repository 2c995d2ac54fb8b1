"""The jobs admin: list, filters, search, change page, actions and their permissions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from jobs.models import Job, JobAttempt, Worker
from jobs.services import enqueue

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:jobs_job_changelist")


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("boss")


@pytest.fixture
def viewer(django_user_model):
    """Staff who may look at jobs but change nothing."""
    user = django_user_model.objects.create_user("viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_job"))
    return user


def staff_with(django_user_model, *codenames: str):
    user = django_user_model.objects.create_user("operator", is_staff=True)
    for codename in ("view_job", "change_job", *codenames):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def failed_job(**fields) -> Job:
    job = enqueue("noop", {"n": 1})
    now = timezone.now()
    values = {
        "status": Job.Status.FAILED,
        "attempts": 3,
        "error": "RuntimeError: the model refused",
        "traceback": 'Traceback (most recent call last):\n  File "x.py"\nRuntimeError',
        "started_at": now - timedelta(seconds=3),
        "finished_at": now,
    } | fields
    Job.objects.filter(pk=job.pk).update(**values)
    job.refresh_from_db()
    return job


def running_job(*, lease_in: float = 30, worker_id: str = "w-1") -> Job:
    job = enqueue("noop", {})
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING,
        worker_id=worker_id,
        attempts=1,
        started_at=now,
        lease_expires_at=now + timedelta(seconds=lease_in),
    )
    JobAttempt.objects.create(job=job, number=1, worker_id=worker_id, started_at=now)
    job.refresh_from_db()
    return job


def act(client, action: str, jobs: list[Job], *, follow: bool = True):
    data = {"action": action, "_selected_action": [job.pk for job in jobs]}
    return client.post(CHANGELIST, data, follow=follow)


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- access --------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client):
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_non_staff_gets_no_access(client, django_user_model):
    user = django_user_model.objects.create_user("plain")
    client.force_login(user)
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


# --- the list ------------------------------------------------------------------------------


def test_list_shows_badges_and_columns(client, superuser):
    job = failed_job()
    enqueue("sleep", {"seconds": 1}, delay=3600)
    client.force_login(superuser)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="job-badge job-badge--bad" data-state="failed"' in html
    assert 'data-state="scheduled"' in html
    assert f"{job.attempts}/{job.max_attempts}" in html
    assert "jobs/admin.css" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status__exact=failed", {"failed"}),
        ("type=sleep", {"sleep"}),
        ("queue=slow", {"on-slow"}),
        ("stuck=yes", {"stuck"}),
    ],
)
def test_filters(client, superuser, query, expected):
    labels = {}
    labels[failed_job().pk] = "failed"
    labels[enqueue("sleep", {"seconds": 1}).pk] = "sleep"
    labels[enqueue("noop", {}, queue="slow").pk] = "on-slow"
    labels[running_job(lease_in=-5).pk] = "stuck"
    labels[running_job(lease_in=30, worker_id="w-2").pk] = "healthy"
    client.force_login(superuser)
    response = client.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 200
    shown = {labels[job.pk] for job in response.context["cl"].result_list}
    assert shown == expected


def test_date_filters_and_hierarchy(client, superuser):
    old = failed_job()
    Job.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    new = enqueue("noop", {})
    client.force_login(superuser)
    today = timezone.now()
    response = client.get(
        f"{CHANGELIST}?created_at__year={today.year}&created_at__month={today.month}"
    )
    assert [j.pk for j in response.context["cl"].result_list] == [new.pk]
    since = (today - timedelta(days=7)).replace(microsecond=0).isoformat()
    response = client.get(CHANGELIST, {"created_at__gte": since})
    assert [j.pk for j in response.context["cl"].result_list] == [new.pk]


@pytest.mark.parametrize("term", ["{pk}", "#{pk}", "model refused"])
def test_search_by_id_and_error(client, superuser, term):
    target = failed_job()
    enqueue("noop", {})
    client.force_login(superuser)
    response = client.get(CHANGELIST, {"q": term.format(pk=target.pk)})
    assert response.status_code == 200
    assert [j.pk for j in response.context["cl"].result_list] == [target.pk]


# --- the change page -----------------------------------------------------------------------


def test_change_page_shows_json_traceback_and_attempts(client, superuser):
    job = failed_job()
    Job.objects.filter(pk=job.pk).update(payload={"topic": "<script>x</script>"})
    JobAttempt.objects.create(
        job=job,
        number=1,
        worker_id="w-9",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        outcome=JobAttempt.Outcome.FAILED,
        error="first failure",
    )
    client.force_login(superuser)
    response = client.get(reverse("admin:jobs_job_change", args=[job.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<pre class="job-json">{\n  &quot;topic&quot;: &quot;&lt;script&gt;' in html
    assert '<pre class="job-traceback">Traceback (most recent call last):' in html
    assert "attempt history" in html.lower()
    assert "first failure" in html
    # a failed job: everything is read-only, and the buttons offer what a failed job allows
    assert 'name="priority"' not in html
    assert reverse("admin:jobs_job_object_action", args=[job.pk, "requeue"]) in html
    assert reverse("admin:jobs_job_object_action", args=[job.pk, "cancel"]) not in html


def test_queued_job_edit_writes_only_edited_fields(client, superuser):
    job = enqueue("noop", {})
    client.force_login(superuser)
    url = reverse("admin:jobs_job_change", args=[job.pk])
    page = client.get(url)
    assert 'name="priority"' in page.content.decode()
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data |= {"priority": 7, "run_at_0": "2030-01-01", "run_at_1": "00:00:00"}
    data |= {
        "attempt_history-TOTAL_FORMS": "0",
        "attempt_history-INITIAL_FORMS": "0",
        "attempt_history-MIN_NUM_FORMS": "0",
        "attempt_history-MAX_NUM_FORMS": "1000",
    }
    data = {k: v for k, v in data.items() if v is not None}
    # a worker claims the job between the page load and the save
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, worker_id="w-x")
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    job.refresh_from_db()
    assert (job.status, job.worker_id, job.priority) == (Job.Status.RUNNING, "w-x", 0)
    assert any("left the queue" in text for text in texts(response))


def test_queued_job_edit_saves(client, superuser):
    job = enqueue("noop", {})
    client.force_login(superuser)
    url = reverse("admin:jobs_job_change", args=[job.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    run_at = timezone.localtime(job.run_at)
    data |= {"priority": 7, "run_at_0": f"{run_at:%Y-%m-%d}", "run_at_1": f"{run_at:%H:%M:%S}"}
    data |= {
        "attempt_history-TOTAL_FORMS": "0",
        "attempt_history-INITIAL_FORMS": "0",
        "attempt_history-MIN_NUM_FORMS": "0",
        "attempt_history-MAX_NUM_FORMS": "1000",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    job.refresh_from_db()
    assert (job.priority, job.status) == (7, Job.Status.QUEUED)


def test_no_add_button(client, superuser):
    client.force_login(superuser)
    assert client.get(reverse("admin:jobs_job_add")).status_code == 403


# --- actions -------------------------------------------------------------------------------


def test_requeue_action_reports_and_resets(client, superuser):
    failed = failed_job()
    done = enqueue("noop", {})
    client.force_login(superuser)
    response = act(client, "requeue_jobs", [failed, done])
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.error) == (Job.Status.QUEUED, 0, "")
    assert texts(response) == ["Requeued 1 job. Skipped 1 job not failed or cancelled."]


def test_run_now_action(client, superuser):
    later = enqueue("noop", {}, delay=3600)
    client.force_login(superuser)
    response = act(client, "run_jobs_now", [later])
    later.refresh_from_db()
    assert later.run_at <= timezone.now()
    assert texts(response) == ["Moved to now 1 job."]


def test_cancel_action_cancels_queued_and_asks_running(client, superuser):
    queued = enqueue("noop", {})
    running = running_job()
    finished = failed_job()
    client.force_login(superuser)
    response = act(client, "cancel_jobs", [queued, running, finished])
    queued.refresh_from_db()
    running.refresh_from_db()
    assert queued.status == Job.Status.CANCELLED
    assert queued.error == "Cancelled by boss"
    assert running.cancel_requested and running.status == Job.Status.RUNNING
    assert texts(response) == [
        "Cancelled 1 queued job. Asked 1 running job to stop. Skipped 1 already finished."
    ]


def test_raise_priority_action(client, superuser):
    queued = enqueue("noop", {}, priority=1)
    client.force_login(superuser)
    response = act(client, "raise_priority", [queued])
    queued.refresh_from_db()
    assert queued.priority == 11
    assert texts(response) == ["Raised the priority of 1 job."]


def test_rescue_stuck_action(client, superuser):
    stuck = running_job(lease_in=-10)
    healthy = running_job(lease_in=30, worker_id="w-2")
    client.force_login(superuser)
    response = act(client, "rescue_stuck", [stuck, healthy])
    stuck.refresh_from_db()
    healthy.refresh_from_db()
    assert stuck.status == Job.Status.QUEUED
    assert stuck.attempt_history.get().outcome == JobAttempt.Outcome.LOST
    assert healthy.status == Job.Status.RUNNING
    assert texts(response) == [
        "Rescued 1 stuck job: 1 back in the queue, 0 failed (no attempts left)."
    ]


def test_action_with_nothing_to_do_warns(client, superuser):
    queued = enqueue("noop", {})
    client.force_login(superuser)
    response = act(client, "requeue_jobs", [queued])
    assert texts(response) == ["Nothing requeued: the selected jobs are not failed or cancelled."]


@pytest.mark.parametrize(
    ("action", "codename"),
    [
        ("requeue_jobs", "requeue_job"),
        ("run_jobs_now", "run_job_now"),
        ("cancel_jobs", "cancel_job"),
        ("raise_priority", "prioritize_job"),
        ("rescue_stuck", "requeue_job"),
    ],
)
def test_each_action_needs_its_permission(client, django_user_model, action, codename):
    failed = failed_job()
    queued = enqueue("noop", {}, delay=3600)
    staff = staff_with(django_user_model)
    client.force_login(staff)
    page = client.get(CHANGELIST)
    assert action not in page.context["cl"].model_admin.get_actions(page.wsgi_request)
    response = act(client, action, [failed, queued])
    assert response.status_code == 200
    assert not any(
        text.startswith(("Requeued", "Rescued", "Cancelled")) for text in texts(response)
    )
    failed.refresh_from_db()
    queued.refresh_from_db()
    assert failed.status == Job.Status.FAILED and queued.status == Job.Status.QUEUED
    assert queued.priority == 0 and queued.run_at > timezone.now()

    staff.user_permissions.add(Permission.objects.get(codename=codename))
    staff = django_user_model.objects.get(pk=staff.pk)  # drop the permission cache
    client.force_login(staff)
    page = client.get(CHANGELIST)
    assert action in page.context["cl"].model_admin.get_actions(page.wsgi_request)


def test_viewer_sees_jobs_but_no_actions(client, viewer):
    failed = failed_job()
    client.force_login(viewer)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert failed in response.context["cl"].result_list
    page = client.get(reverse("admin:jobs_job_change", args=[failed.pk]))
    assert page.status_code == 200
    assert reverse("admin:jobs_job_object_action", args=[failed.pk, "requeue"]) not in (
        page.content.decode()
    )


# --- the buttons on a job's page -----------------------------------------------------------


def test_object_action_requeues_with_permission(client, django_user_model):
    failed = failed_job()
    client.force_login(staff_with(django_user_model, "requeue_job"))
    url = reverse("admin:jobs_job_object_action", args=[failed.pk, "requeue"])
    response = client.post(url, follow=True)
    failed.refresh_from_db()
    assert failed.status == Job.Status.QUEUED
    assert f"Requeued job #{failed.pk} with a fresh attempt count." in texts(response)


def test_object_action_refused_without_permission(client, django_user_model):
    failed = failed_job()
    client.force_login(staff_with(django_user_model, "cancel_job"))
    url = reverse("admin:jobs_job_object_action", args=[failed.pk, "requeue"])
    assert client.post(url).status_code == 403
    failed.refresh_from_db()
    assert failed.status == Job.Status.FAILED


def test_object_action_needs_post_and_known_action(client, superuser):
    failed = failed_job()
    client.force_login(superuser)
    assert (
        client.get(reverse("admin:jobs_job_object_action", args=[failed.pk, "requeue"])).status_code
        == 405
    )
    assert (
        client.post(
            reverse("admin:jobs_job_object_action", args=[failed.pk, "explode"])
        ).status_code
        == 403
    )
    assert (
        client.post(reverse("admin:jobs_job_object_action", args=[999999, "requeue"])).status_code
        == 404
    )


def test_object_action_reports_when_not_possible(client, superuser):
    queued = enqueue("noop", {})
    client.force_login(superuser)
    url = reverse("admin:jobs_job_object_action", args=[queued.pk, "requeue"])
    response = client.post(url, follow=True)
    assert f"Could not requeue job #{queued.pk}: it is queued." in texts(response)


@pytest.mark.parametrize(
    ("slug", "check"),
    [
        ("run-now", lambda job: job.run_at <= timezone.now()),
        ("prioritize", lambda job: job.priority == 10),
        ("cancel", lambda job: job.status == Job.Status.CANCELLED),
    ],
)
def test_object_actions_on_a_queued_job(client, superuser, slug, check):
    job = enqueue("noop", {}, delay=600)
    client.force_login(superuser)
    response = client.post(reverse("admin:jobs_job_object_action", args=[job.pk, slug]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert check(job)


# --- workers -------------------------------------------------------------------------------


def test_worker_list_shows_alive_dead_and_running_jobs(client, superuser):
    Worker.objects.create(id="w-1", hostname="box", pid=1, concurrency=4, jobs_running=1)
    Worker.objects.create(
        id="w-old",
        hostname="box",
        pid=2,
        concurrency=2,
        last_heartbeat=timezone.now() - timedelta(hours=1),
    )
    job = running_job(worker_id="w-1")
    client.force_login(superuser)
    response = client.get(reverse("admin:jobs_worker_changelist"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-state="alive"' in html and 'data-state="dead"' in html
    assert reverse("admin:jobs_job_change", args=[job.pk]) in html
    assert "1/4" in html
    detail = client.get(reverse("admin:jobs_worker_change", args=["w-1"]))
    assert detail.status_code == 200
    assert 'name="concurrency"' not in detail.content.decode()
    assert client.get(reverse("admin:jobs_worker_add")).status_code == 403


def test_stuck_jobs_banner(client, superuser):
    client.force_login(superuser)
    assert "job-stuck-banner" not in client.get(CHANGELIST).content.decode()
    running_job(lease_in=-5)
    running_job(lease_in=-5, worker_id="w-2")
    html = client.get(CHANGELIST).content.decode()
    assert "2 jobs are stuck" in html and 'href="?stuck=yes"' in html
    assert "job-stuck-banner" not in client.get(CHANGELIST, {"stuck": "yes"}).content.decode()


# --- a list that stays quick with millions of rows -----------------------------------------


@pytest.mark.parametrize("kind", ["year", "month", "day"])
def test_date_hierarchy_periods_match_djangos(kind):
    from jobs.admin.lists import JobListQuerySet

    moments = ["2024-12-31T23:30:00", "2025-01-01T00:10:00", "2025-02-28T12:00:00"]
    moments += ["2025-03-01T08:00:00", "2025-03-01T09:00:00", "2025-03-17T00:00:00"]
    for moment in moments:
        job = enqueue("noop", {})
        aware = timezone.make_aware(timezone.datetime.fromisoformat(moment))
        Job.objects.filter(pk=job.pk).update(created_at=aware)
    ours = JobListQuerySet(model=Job).datetimes("created_at", kind)
    django = list(Job.objects.datetimes("created_at", kind))
    assert ours == django
    march = JobListQuerySet(model=Job).filter(created_at__month=3)
    assert march.datetimes("created_at", kind) == list(
        Job.objects.filter(created_at__month=3).datetimes("created_at", kind)
    )
    assert JobListQuerySet(model=Job).none().datetimes("created_at", kind) == []


def test_changelist_drills_down_to_days(client, superuser):
    job = enqueue("noop", {})
    client.force_login(superuser)
    html = client.get(CHANGELIST).content.decode()
    today = timezone.localtime(job.created_at)
    assert f"created_at__day={today.day}" in html


def test_estimated_count_only_for_big_unfiltered_postgres_lists(postgres_only, monkeypatch):
    from django.db import connection

    from jobs.admin.lists import EstimatedCountPaginator

    for _ in range(5):
        enqueue("noop", {})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE jobs_job")
    monkeypatch.setattr(EstimatedCountPaginator, "EXACT_BELOW", 1)
    Job.objects.create(type="noop")  # not yet in the planner's estimate
    assert EstimatedCountPaginator(Job.objects.order_by("pk"), 50).count == 5
    assert EstimatedCountPaginator(Job.objects.filter(type="noop").order_by("pk"), 50).count == 6
    monkeypatch.setattr(EstimatedCountPaginator, "EXACT_BELOW", 100_000)
    assert EstimatedCountPaginator(Job.objects.order_by("pk"), 50).count == 6
