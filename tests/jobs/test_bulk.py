"""Bulk actions by filter, from the admin and the dashboard: counts first, then the work in
batches in the database, hooks per batch, and a line in the admin's log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from jobs import bulk, hooks
from jobs.models import Job
from jobs.services import enqueue

pytestmark = pytest.mark.django_db


def failed(n: int, **fields) -> list[Job]:
    now = timezone.now()
    return Job.objects.bulk_create(
        Job(
            type=fields.get("type", "noop"),
            queue=fields.get("queue", "default"),
            status="failed",
            error=fields.get("error", "OpenAI 503"),
            attempts=3,
            finished_at=now,
        )
        for _ in range(n)
    )


@pytest.fixture
def heard():
    seen: dict[str, list[int]] = {"requeued": [], "cancelled": []}

    def on_requeued(*, jobs):
        seen["requeued"].append(len(jobs))

    def on_cancelled(*, jobs):
        seen["cancelled"].append(len(jobs))

    hooks.requeued.connect(on_requeued)
    hooks.cancelled.connect(on_cancelled)
    yield seen
    hooks.requeued.disconnect(on_requeued)
    hooks.cancelled.disconnect(on_cancelled)


def test_retry_all_failed_by_filter_in_batches_with_the_hook_per_batch(heard):
    outage = failed(25, queue="ai", error="OpenAI 503 Service Unavailable")
    other = failed(3, queue="ai", error="Invalid payload")
    elsewhere = failed(2, queue="default", error="OpenAI 503")
    f = bulk.JobFilter(queue="ai", status="failed", error="503")
    assert bulk.counts(f)["retry"] == 25
    requeued, refused = bulk.bulk_retry(f, batch_size=10)
    assert (requeued, refused) == (25, 0)
    assert heard["requeued"] == [10, 10, 5]
    assert set(
        Job.objects.filter(pk__in=[j.pk for j in outage]).values_list("status", "attempts")
    ) == {("queued", 0)}
    assert set(
        Job.objects.filter(pk__in=[j.pk for j in other + elsewhere]).values_list(
            "status", flat=True
        )
    ) == {"failed"}


def test_retry_ids_only_reach_python_a_batch_at_a_time():
    failed(30)
    with CaptureQueriesContext(connection) as queries:
        bulk.bulk_retry(bulk.JobFilter(status="failed"), batch_size=10)
    limits = [q["sql"] for q in queries if "LIMIT" in q["sql"]]
    assert limits and all("LIMIT 10" in sql for sql in limits)


def test_retry_brings_back_the_steps_cancelled_because_of_a_failure():
    first = enqueue("noop", {})
    second = enqueue("noop", {}, depends_on=first)
    Job.objects.filter(pk=first.pk).update(status="failed", finished_at=timezone.now())
    first.refresh_from_db()
    first._cancel_dependents()
    assert Job.objects.get(pk=second.pk).status == "cancelled"
    bulk.bulk_retry(bulk.JobFilter(status="failed"))
    assert Job.objects.get(pk=second.pk).status == "queued"


def test_cancel_all_queued_cancels_their_dependents_too(heard):
    jobs = [enqueue("noop", {}, queue="video") for _ in range(5)]
    dependent = enqueue("noop", {}, queue="other", depends_on=jobs[0])
    keep = enqueue("noop", {}, queue="default")
    assert bulk.bulk_cancel(bulk.JobFilter(queue="video"), reason="outage", batch_size=2) == 5
    assert sum(heard["cancelled"]) == 6  # five in batches of two, then the dependent
    assert Job.objects.get(pk=dependent.pk).status == "cancelled"
    assert Job.objects.get(pk=keep.pk).status == "queued"


def test_delete_finished_keeps_live_jobs_and_what_they_wait_for():
    old = failed(4)
    needed = failed(1)[0]
    waiting = enqueue("noop", {})
    Job.objects.filter(pk=waiting.pk).update(depends_on=needed)
    live = enqueue("noop", {})
    assert bulk.bulk_delete(bulk.JobFilter(), batch_size=3) == 4
    assert not Job.objects.filter(pk__in=[j.pk for j in old]).exists()
    assert Job.objects.filter(pk__in=[needed.pk, waiting.pk, live.pk]).count() == 3


def test_time_range_filter():
    jobs = failed(4)
    Job.objects.filter(pk__in=[j.pk for j in jobs[:2]]).update(
        created_at=timezone.now() - timedelta(days=3)
    )
    f = bulk.JobFilter(since=timezone.now() - timedelta(days=1))
    assert bulk.counts(f)["retry"] == 2


# --- the pages ------------------------------------------------------------------------------


@pytest.fixture
def operator(django_user_model):
    user = django_user_model.objects.create_user("op", password="pw", is_staff=True)
    for codename in ("view_job", "requeue_job", "cancel_job"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.mark.parametrize("page", ["jobs:bulk", "admin:jobs_queue_bulk"])
def test_pages_show_the_count_then_act_and_log_it(client, operator, page):
    failed(12, queue="ai")
    failed(2, queue="default")
    client.force_login(operator)
    url = reverse(page)
    shown = client.get(url, {"queue": "ai", "status": "failed"}).content.decode()
    assert "Retry 12 failed or cancelled jobs" in shown
    assert 'value="delete"' not in shown  # no delete_job permission: no button
    answer = client.post(url, {"queue": "ai", "status": "failed", "action": "retry"})
    assert answer.status_code == 302
    assert Job.objects.filter(queue="ai", status="queued").count() == 12
    entry = LogEntry.objects.get()
    assert entry.user == operator and "Bulk retry: 12 job(s)" in entry.change_message
    assert "queue='ai'" in entry.change_message


def test_admin_bulk_page_reads_the_job_lists_filter(client, operator):
    failed(3, error="rate limit")
    failed(2, error="other")
    client.force_login(operator)
    shown = client.get(reverse("admin:jobs_queue_bulk"), {"status__exact": "failed", "q": "rate"})
    assert "Retry 3 failed or cancelled jobs" in shown.content.decode()


def test_bulk_actions_need_their_permission(client, django_user_model):
    failed(3)
    user = django_user_model.objects.create_user("t", password="pw", is_staff=True)
    client.force_login(user)
    for action in ("retry", "cancel", "delete"):
        assert client.post(reverse("jobs:bulk"), {"action": action}).status_code == 403
    assert Job.objects.filter(status="failed").count() == 3
    assert not LogEntry.objects.exists()


def test_bad_filter_is_refused_without_acting(client, operator):
    failed(2)
    client.force_login(operator)
    answer = client.get(reverse("jobs:bulk"), {"since": "yesterday-ish", "status": "nope"})
    assert answer.status_code == 200 and "Fix the filter" in answer.content.decode()
    answer = client.post(reverse("jobs:bulk"), {"since": "yesterday-ish", "action": "retry"})
    assert Job.objects.filter(status="failed").count() == 2


def test_the_admin_job_list_links_to_bulk_actions_with_its_filter(client, operator):
    failed(1)
    client.force_login(operator)
    page = client.get(reverse("admin:jobs_job_changelist"), {"status__exact": "failed"})
    assert f"{reverse('admin:jobs_queue_bulk')}?status__exact=failed" in page.content.decode()
