"""The dashboard's spend panel in Chromium: it loads by itself, switches between 24 hours and
30 days, and says when a cap is reached. Its screenshot (``spend-panel.png``) is the README's."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from briefs.models import AICall, Brief, BudgetCap

pytestmark = pytest.mark.django_db(transaction=True)

# (model, kind, job type, dollars per call)
CALLS = [
    ("gpt-5.4-mini", "vision", "transcribe", 0.0042),
    ("gpt-5.4-mini", "text", "sop_extract", 0.0031),
    ("gpt-transcribe", "speech_to_text", "transcribe", 0.0120),
    ("gpt-image-2", "image", "video_generation", 0.0410),
    ("gpt-4o-mini-tts", "speech", "video_generation", 0.0090),
]


def seed_month() -> tuple[Decimal, Decimal]:
    """30 days of calls by three users on a few briefs, busier on weekdays and today."""
    rng = random.Random(13)
    users = [get_user_model().objects.create_user(name) for name in ("ada", "grace", "linus")]
    briefs = [
        Brief.objects.create(owner=users[i % 3], title=f"Brief {i}", query="Q", media_type="video")
        for i in range(4)
    ]
    now = timezone.now()
    rows = []
    for hour in range(30 * 24, 0, -1):
        moment = now - timedelta(hours=hour)
        busy = 2 if moment.weekday() >= 5 else 6
        busy += 8 if hour < 24 and 9 <= timezone.localtime(moment).hour <= 18 else 0
        for _ in range(rng.randint(0, busy)):
            model, kind, job_type, price = rng.choice(CALLS)
            owner = rng.choice(users)
            rows.append(
                AICall(
                    created_at=moment + timedelta(minutes=rng.randint(0, 59)),
                    user=owner,
                    brief=rng.choice(briefs),
                    job_type=job_type,
                    provider="openai",
                    model=model,
                    kind=kind,
                    input_tokens=rng.randint(800, 9000),
                    output_tokens=rng.randint(100, 900),
                    cost=Decimal(str(round(price * rng.uniform(0.6, 1.6), 6))),
                )
            )
    AICall.objects.bulk_create(rows, batch_size=1000)
    BudgetCap.objects.create(user=None, period="month", amount=Decimal("200"))
    BudgetCap.objects.create(user=users[0], period="day", amount=Decimal("0.02"))
    today = sum((r.cost for r in rows if r.created_at >= now - timedelta(hours=24)), Decimal(0))
    return today, sum((r.cost for r in rows), Decimal(0))


def test_spend_panel(logged_in, screenshots_dir):
    page = logged_in
    seed_month()
    page.goto("/test-worker/")
    panel = page.locator("#spend")
    expect(panel.locator("h2")).to_contain_text("AI spend")
    expect(panel.locator("[data-spend-month]")).to_contain_text("$")
    expect(panel).to_contain_text("gpt-image-2")
    expect(panel).to_contain_text("Monthly budget of $200.00 for everyone")
    expect(panel).to_contain_text("reached: paid steps are held")  # ada: $0.02 a day
    bars = panel.locator("svg.chart g")
    expect(bars).to_have_count(24)
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(screenshots_dir / "spend-panel.png"))

    panel.get_by_role("link", name="30 days").click()
    expect(panel.locator("h2")).to_contain_text("last 30 days")
    expect(panel.locator("svg.chart g")).to_have_count(30)
