"""Staff surfaces in a real browser: the live dashboard follows a real worker without a reload,
failed jobs are requeued from the page and from the admin, and the page fits a phone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jobs.models import Job, JobAttempt
from jobs.services import enqueue
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

WORKER_ARGS = ("--concurrency", "2", "--poll-interval", "0.2")


def job_status(job: Job) -> str:
    return Job.objects.values_list("status", flat=True).get(pk=job.pk)


def test_dashboard_follows_a_real_worker_without_reloading(logged_in, start_worker):
    page = logged_in
    page.evaluate("window.__sameDocument = true")
    expect(page.locator('[data-count="ready"]')).to_have_text("0")

    # enqueue work from the page itself
    page.select_option("#id_type", "test_steps")
    page.fill("#id_payload", '{"steps": 5, "seconds": 1.0}')
    page.fill("#id_count", "3")
    page.click("#enqueue button[type=submit]")
    expect(page.locator("[data-enqueued]")).to_contain_text("Enqueued 3 jobs")
    expect(page.locator('[data-count="ready"]')).to_have_text("3")
    expect(page.locator("#pending [data-job-id]")).to_have_count(3)

    start_worker(*WORKER_ARGS)

    # running jobs appear with their progress, which moves while we watch
    expect(page.locator("#active .running-job").first).to_be_visible()
    expect(page.locator('[data-count="running"]')).not_to_have_text("0")
    expect(page.locator("#workers [data-worker]")).to_have_count(1)
    seen: set[str] = set()

    def progress_moved() -> bool:
        """two different progress values were shown for running jobs"""
        for text in page.locator("#active .step").all_inner_texts():
            seen.add(text)
        return len(seen) >= 2

    wait_for(progress_moved, timeout=60, interval=0.2)
    assert any(re.search(r"Step \d of 5", text) for text in seen), seen

    # open a running job's panel: it follows the job, then stops polling once it is done
    page.locator("#active a.job-id").first.click()
    panel = page.locator("#job-detail")
    expect(panel).to_have_attribute("data-status", re.compile("running|succeeded"))
    job_id = panel.get_attribute("data-job-id")
    expect(panel).to_have_attribute("data-status", "succeeded", timeout=60_000)
    expect(panel).not_to_have_attribute("hx-trigger", re.compile("."))
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if f"/jobs/{job_id}/" in r.url else None)
    page.wait_for_timeout(2500)
    assert polls == [], "the panel of a finished job kept polling"

    # every job finishes; the counts and the chart catch up without a reload
    expect(page.locator('[data-count="succeeded"]')).to_have_text("3", timeout=60_000)
    expect(page.locator('[data-count="running"]')).to_have_text("0")
    expect(page.locator("[data-throughput]")).to_contain_text("3 finished", timeout=30_000)
    expect(page.locator("[data-success-rate]")).to_have_text("100.0%")
    assert page.evaluate("window.__sameDocument") is True
    assert Job.objects.filter(status=Job.Status.SUCCEEDED).count() == 3


def test_requeue_a_failed_job_from_the_page(logged_in, start_worker):
    page = logged_in
    row_job = enqueue("test_fail", {"message": "kaboom in a row"}, max_attempts=1)
    panel_job = enqueue("test_fail", {"message": "kaboom in the panel"}, max_attempts=1)
    start_worker(*WORKER_ARGS)
    wait_for(lambda: job_status(row_job) == job_status(panel_job) == Job.Status.FAILED)

    # the failure shows up in the list by itself; its Requeue button swaps the row in place
    row = page.locator(f"#job-row-{row_job.pk}")
    expect(row).to_contain_text("kaboom in a row", timeout=30_000)
    expect(page.locator('[data-count="failed"]')).to_have_text("2")
    row.get_by_role("button", name="Requeue").click()
    expect(row).to_contain_text(f"Requeued job #{row_job.pk}.")
    wait_for(lambda: JobAttempt.objects.filter(job=row_job).count() == 2)  # ran again

    # from the job's panel: requeue, watch it run again and fail again, polling then stops
    page.locator(f"#job-row-{panel_job.pk} a.job-id").click()
    panel = page.locator("#job-detail")
    expect(panel).to_have_attribute("data-status", "failed")
    expect(panel).to_contain_text("kaboom in the panel")
    panel.get_by_role("button", name="Requeue").click()
    expect(panel).to_contain_text(f"Requeued job #{panel_job.pk}.")
    wait_for(lambda: JobAttempt.objects.filter(job=panel_job).count() == 2)
    expect(panel).to_have_attribute("data-status", "failed", timeout=30_000)
    expect(panel.locator(".attempts li")).to_have_count(2)


def test_requeue_from_the_admin(logged_in):
    page = logged_in
    now = timezone.now()
    failed = [enqueue("noop", {"n": n}) for n in range(2)]
    Job.objects.filter(pk__in=[j.pk for j in failed]).update(
        status=Job.Status.FAILED,
        attempts=3,
        error="RuntimeError: upstream said no",
        started_at=now - timedelta(seconds=2),
        finished_at=now,
    )
    first, second = failed

    # the list action
    page.goto("/admin/jobs/job/?status__exact=failed")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    page.check(f'input[name="_selected_action"][value="{first.pk}"]')
    page.select_option('select[name="action"]', "requeue_jobs")
    page.click('button[name="index"]')
    expect(page.locator(".messagelist")).to_contain_text("Requeued 1 job.")
    assert job_status(first) == Job.Status.QUEUED
    assert job_status(second) == Job.Status.FAILED

    # the button on the job's own page
    page.goto(f"/admin/jobs/job/{second.pk}/change/")
    expect(page.locator(".job-error")).to_contain_text("upstream said no")
    page.get_by_role("button", name="Requeue").click()
    expect(page.locator(".messagelist")).to_contain_text(
        f"Requeued job #{second.pk} with a fresh attempt count."
    )
    assert job_status(second) == Job.Status.QUEUED


def test_dashboard_fits_a_phone(logged_in):
    page = logged_in
    enqueue("test_fail", {"message": "a very long error " * 20}, max_attempts=1)
    Job.objects.update(status=Job.Status.FAILED, error="x" * 400, finished_at=timezone.now())
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#failures [data-job-id]")).to_have_count(1)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than a phone screen"


def test_pausing_stops_updates_until_resumed(logged_in):
    page = logged_in
    ready = page.locator('[data-count="ready"]')
    expect(ready).to_have_text("0")
    page.get_by_role("button", name="Pause updates").click()
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/test-worker/" in r.url else None)
    enqueue("noop", {})
    page.wait_for_timeout(3000)
    assert polls == [], "a paused page kept polling"
    expect(ready).to_have_text("0")
    page.get_by_role("button", name="Resume updates").click()
    expect(ready).to_have_text("1")


def test_job_list_fits_1400_px_with_its_error_column(logged_in, admin_user):
    page = logged_in
    from briefs.models import Brief
    from briefs.services import brief_start

    brief = Brief.objects.create(
        owner=admin_user,
        title="A brief with a rather long title " * 3,
        query="q",
        media_type="video",
    )
    brief_start(brief=brief, use_pipeline=True, storyboard=True)
    Job.objects.filter(type="analysis").update(
        status=Job.Status.FAILED,
        error="openai.RateLimitError: " + "the upstream server refused the request " * 10,
        worker_id="worker-with-a-long-hostname-0123456789",
        finished_at=timezone.now(),
    )
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto("/admin/jobs/job/")
    expect(page.locator("#result_list th.column-error_short")).to_be_visible()
    errors = page.locator("#result_list td.field-error_short", has_text="RateLimitError")
    expect(errors).to_be_visible()
    for selector in ("#result_list", "html"):
        overflow = page.evaluate(
            "(s) => { const e = document.querySelector(s);"
            " const box = s === 'html' ? e : e.parentElement;"
            " return e.scrollWidth - box.clientWidth; }",
            selector,
        )
        assert overflow <= 0, f"{selector} is {overflow}px wider than its place at 1,400 px"
