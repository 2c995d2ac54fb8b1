"""The operator's pages in Chromium: a queue page with its pause, limits and hold; periodic jobs
with "Run now"; the bulk page's count and action; failures readable on a phone. Screenshots land
where ``screenshots_dir`` says (docs/screenshots for the README)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jobs import queues as controls
from jobs.controls import Schedule
from jobs.models import Job
from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

LONG_ERROR = (
    "openai.RateLimitError: Error code: 429 - Rate limit reached for gpt-5.4-mini in "
    "organization org-abc on tokens per min (TPM): Limit 200000, Used 199850, Requested 1200."
)


def seed() -> None:
    now = timezone.now()
    for n in range(30):
        started = now - timedelta(minutes=50 - n)
        Job.objects.create(
            type="sentiment_analysis",
            queue="ai",
            status="succeeded",
            created_at=started - timedelta(seconds=n % 7),
            started_at=started,
            finished_at=started + timedelta(seconds=2 + n % 5),
            attempts=1,
        )
    for _ in range(4):
        Job.objects.create(
            type="sentiment_analysis",
            queue="ai",
            status="failed",
            error=LONG_ERROR,
            attempts=3,
            finished_at=now - timedelta(minutes=3),
        )
    first = Job.objects.create(type="video_transcription", queue="video")
    Job.objects.create(type="sop_extract", queue="video", depends_on=first)
    Job.objects.create(type="noop", queue="ai", run_at=now + timedelta(minutes=10))
    controls.queue_pause(name="ai", by="admin", reason="OpenAI incident, status page red")
    controls.queue_hold(
        name="ai", seconds=90, reason="Rate limited by the AI server (429, Retry-After 90s)"
    )
    controls.queue_set_limits(name="video", concurrency=2, rate=30, period=60)
    Schedule(
        name="nightly-report", job_type="noop", cron="0 3 * * *", timezone="Europe/Paris"
    ).save()


def test_queue_page_schedules_and_bulk(logged_in, screenshots_dir):
    page = logged_in
    seed()
    page.goto("/test-worker/queues/ai/")
    expect(page.locator(".state--paused")).to_contain_text("Paused")
    expect(page.locator(".state--held")).to_contain_text("Held until")
    expect(page.locator('[data-figure="scheduled"]')).to_have_text("1")
    expect(page.locator('[data-window="1h"] td').nth(1)).to_have_text("34")
    page.screenshot(path=screenshots_dir / "queue-page.png", full_page=True)

    page.click("text=Resume")
    expect(page.locator(".state--running")).to_be_visible()
    assert not controls.queue_record("ai").paused

    page.goto("/test-worker/schedules/")
    row = page.locator('[data-schedule="nightly-report"]')
    expect(row).to_contain_text("0 3 * * *")
    expect(page.locator('[data-schedule="jobs.retention"]')).to_be_visible()
    page.screenshot(path=screenshots_dir / "schedules.png", full_page=True)
    row.locator("text=Run now").click()
    expect(page.locator(".messages")).to_contain_text("Enqueued job #")

    page.goto("/test-worker/bulk/?status=failed&queue=ai")
    button = page.locator('button[value="retry"]')
    expect(button).to_have_text("Retry 4 failed or cancelled jobs")
    page.screenshot(path=screenshots_dir / "bulk.png", full_page=True)
    button.click()
    expect(page.locator(".messages")).to_contain_text("Requeued 4 job(s)")
    assert Job.objects.filter(queue="ai", status="failed").count() == 0


def test_failures_stay_readable_on_a_phone(browser, live_server, admin_user, screenshots_dir):
    seed()
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto("/admin/login/?next=/test-worker/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/test-worker/")
    cell = page.locator("#failures .error-cell").first
    expect(cell).to_be_visible()
    box = cell.bounding_box()
    assert box and box["width"] > 200, box  # the error gets the row's width, not a letter's
    page.locator("#failures").screenshot(path=screenshots_dir / "failures-phone.png")
    context.close()
