"""Screenshots of the dashboard (laptop and phone), a job's panel and the admin job list, taken
while a real worker runs. They land in var/screenshots, or in docs/screenshots with
``SCREENSHOTS_DIR=docs/screenshots`` (how the README's pictures are made)."""

from __future__ import annotations

import math
import random
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from briefs.models import SOP, Brief, Transcript
from briefs.services import brief_link_jobs
from jobs.models import Job
from jobs.services import enqueue, enqueue_many
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ERRORS = [
    "openai.RateLimitError: Rate limit reached for requests (429)",
    "ffmpeg exited with status 1: Invalid data found when processing input",
    "InvalidPayload: brief 812 has no transcript yet",
]


def seed_last_hour() -> None:
    """An hour of finished work with a daily-life shape, and a few failures."""
    rng = random.Random(4)
    now = timezone.now()
    rows = []
    types = ["transcribe", "sop_extract", "storyboard", "video_generation"]
    for minute in range(60, 0, -1):
        busy = int(18 + 14 * math.sin(minute / 9) + rng.randint(0, 6))
        for _ in range(busy):
            finished = now - timedelta(minutes=minute, seconds=rng.uniform(0, 59))
            failed = rng.random() < 0.03
            rows.append(
                Job(
                    type=rng.choice(types),
                    queue="ai",
                    status=Job.Status.FAILED if failed else Job.Status.SUCCEEDED,
                    attempts=3 if failed else 1,
                    created_at=finished - timedelta(seconds=20),
                    run_at=finished - timedelta(seconds=20),
                    started_at=finished - timedelta(seconds=rng.uniform(1, 15)),
                    finished_at=finished,
                    error=rng.choice(ERRORS) if failed else "",
                    progress=100,
                )
            )
    Job.objects.bulk_create(rows, batch_size=500)
    # waiting work on queues this test's worker does not take
    for type_, queue, priority in [
        ("video_generation", "video", 5),
        ("video_generation", "video", 0),
        ("transcribe", "ai", 0),
        ("sop_extract", "ai", 0),
        ("storyboard", "ai", 0),
    ]:
        Job.objects.create(
            type=type_,
            queue=queue,
            priority=priority,
            run_at=now - timedelta(seconds=random.Random(priority).randint(5, 90)),
        )
    Job.objects.create(type="transcribe", queue="ai", run_at=now + timedelta(minutes=10))


def test_screenshots(logged_in, start_worker, screenshots_dir):
    page = logged_in
    seed_last_hour()
    enqueue("test_fail", {"message": "ValueError: storyboard has no scenes"}, max_attempts=1)
    enqueue_many("test_steps", [{"steps": 10, "seconds": 2.5}] * 3)
    start_worker("--concurrency", "3", "--poll-interval", "0.2", "--queues", "default")
    wait_for(
        lambda: Job.objects.filter(type="test_steps", progress__gte=30).count() >= 2, timeout=90
    )

    page.reload()
    expect(page.locator("#active .running-job")).to_have_count(3, timeout=30_000)
    page.wait_for_timeout(500)
    page.screenshot(path=screenshots_dir / "dashboard.png", full_page=True)

    page.locator("#active a.job-id").first.click()
    expect(page.locator("#job-detail")).to_have_attribute("data-status", "running")
    page.screenshot(path=screenshots_dir / "dashboard-job-panel.png")

    phone = page.context.browser.new_context(
        base_url=page.url.split("/test-worker/")[0],
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        storage_state=page.context.storage_state(),
    )
    phone_page = phone.new_page()
    phone_page.goto("/test-worker/")
    expect(phone_page.locator("#active .running-job").first).to_be_visible()
    phone_page.screenshot(path=screenshots_dir / "dashboard-phone.png", full_page=False)
    phone.close()

    # the list with the admin's navigation folded away (its « button), as staff read long lists
    page.evaluate("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
    page.goto("/admin/jobs/job/")
    expect(page.locator("#result_list")).to_be_visible()
    page.screenshot(path=screenshots_dir / "admin-jobs.png")
    failed = Job.objects.filter(status=Job.Status.FAILED, type="test_fail").first()
    assert failed is not None
    page.goto(f"/admin/jobs/job/{failed.pk}/change/")
    page.screenshot(path=screenshots_dir / "admin-job.png", full_page=True)

    sop = seed_brief_with_sop()
    page.goto(f"/admin/briefs/brief/{sop.brief_id}/change/")
    expect(page.locator("#job_links-group")).to_be_visible()
    page.screenshot(path=screenshots_dir / "admin-brief.png", full_page=True)
    page.goto(f"/admin/briefs/sop/{sop.pk}/change/")
    expect(page.locator(".sop-steps")).to_be_visible()
    page.screenshot(path=screenshots_dir / "admin-sop.png", full_page=True)
    names = ["dashboard", "dashboard-job-panel", "dashboard-phone", "admin-jobs", "admin-job"]
    for name in [*names, "admin-brief", "admin-sop"]:
        assert (screenshots_dir / f"{name}.png").stat().st_size > 10_000


def seed_brief_with_sop() -> SOP:
    """A video brief whose SOP pipeline ran: three jobs, a transcript and an SOP."""
    owner = get_user_model().objects.get(username="admin")
    brief = Brief.objects.create(
        owner=owner,
        title="Monthly report export",
        query="Turn the screen recording into an SOP for the finance team",
        media_type=Brief.MediaType.VIDEO,
    )
    now = timezone.now()
    jobs: list[Job] = []
    for i, type_ in enumerate(["video_slim", "transcribe", "sop_extract"]):
        jobs.append(
            Job.objects.create(
                type=type_,
                queue="ai",
                owner=owner,
                status=Job.Status.SUCCEEDED,
                attempts=1,
                progress=100,
                created_at=now - timedelta(minutes=5),
                started_at=now - timedelta(minutes=4 - i),
                finished_at=now - timedelta(minutes=3 - i, seconds=20),
                depends_on=jobs[-1] if jobs else None,
                result={"ok": True},
            )
        )
    brief_link_jobs(brief=brief, jobs=jobs)
    transcript = Transcript.objects.create(
        brief=brief,
        job=jobs[1],
        language="en",
        model="whisper-1 + gpt-4o-mini",
        prompt_version="transcription_v1",
        segments=[
            {"start": 0, "end": 4, "kind": "speech", "text": "Let's export this month's report."},
            {"start": 4, "end": 9, "kind": "screen", "text": "The Reports menu opens."},
            {"start": 9, "end": 15, "kind": "speech", "text": "Pick last month, then CSV."},
            {"start": 15, "end": 21, "kind": "screen", "text": "A download bar shows report.csv."},
        ],
    )
    return SOP.objects.create(
        brief=brief,
        owner=owner,
        job=jobs[2],
        transcript=transcript,
        model="gpt-4o-mini",
        prompt_version="sop_parser_v1",
        data={
            "title": "Export the monthly report",
            "purpose": "Send last month's numbers to finance as a CSV file.",
            "prerequisites": ["An account with the Reports role", "Finance's shared folder"],
            "steps": [
                {
                    "number": 1,
                    "title": "Open the reports",
                    "actions": ["Click Reports in the top menu"],
                    "tools": ["Browser"],
                    "start": 4,
                    "end": 9,
                },
                {
                    "number": 2,
                    "title": "Choose the period and the format",
                    "actions": ["Pick last month", "Choose CSV", "Click Export"],
                    "tools": ["Reports"],
                    "start": 9,
                    "end": 15,
                },
                {
                    "number": 3,
                    "title": "Share the file",
                    "actions": ["Move report.csv to finance's shared folder"],
                    "tools": ["Files"],
                    "start": 15,
                    "end": 21,
                },
            ],
        },
    )
