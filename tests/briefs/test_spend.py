"""Spend: usage rows priced from the table, budget caps that hold jobs, the spend views."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from briefs.models import AICall, BudgetCap, Price
from briefs.spend import budgets, selectors
from briefs.spend.usage import Usage, cost_of, prices_at
from jobs.models import Job, JobAttempt
from jobs.services import enqueue

TEXT = {"text": "The soup was cold but the staff were lovely."}


def run_worker() -> None:
    call_command("runworker", "--burst", "--concurrency", "1", "--poll-interval", "0.05")


def spend(user, amount: str, *, when=None) -> AICall:
    """A call of ``user`` that cost ``amount`` dollars."""
    return AICall.objects.create(
        user=user,
        provider="openai",
        model="gpt-5.4-mini",
        kind="text",
        cost=Decimal(amount),
        created_at=when or timezone.now(),
    )


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", email="")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


# --- prices ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_default_prices_cover_the_default_models():
    from briefs import conf

    for model in (conf.text_model(), conf.transcribe_model(), conf.image_model(), conf.tts_model()):
        assert prices_at(model, timezone.now()), f"no default price for {model}"


@pytest.mark.django_db
def test_a_call_is_priced_with_the_price_valid_at_its_time_and_keeps_it():
    earlier = timezone.now()
    usage = Usage(input_tokens=2_000_000, cached_input_tokens=1_000_000, output_tokens=1_000_000)
    # $0.75 × 1M uncached + $0.075 × 1M cached + $4.50 × 1M out
    assert cost_of(usage, prices_at("gpt-5.4-mini", earlier)) == (Decimal("5.325"), True)
    Price.objects.create(
        model="gpt-5.4-mini",
        unit=Price.Unit.OUTPUT_TOKENS,
        price=Decimal("9.00"),
        valid_from=earlier + timedelta(seconds=1),
    )
    assert prices_at("gpt-5.4-mini", earlier)["output_1m_tokens"] == Decimal("4.50")
    later = prices_at("gpt-5.4-mini", earlier + timedelta(seconds=2))
    assert later["output_1m_tokens"] == Decimal("9.00")
    assert later["input_1m_tokens"] == Decimal("0.75")  # other units keep their price
    # A model with no price costs nothing, and says so.
    assert cost_of(usage, prices_at("no-such-model", earlier)) == (Decimal(0), False)


@pytest.mark.django_db(transaction=True)
def test_a_new_price_does_not_rewrite_recorded_costs(fake_openai, user):
    job = enqueue("sentiment_analysis", TEXT, owner=user)
    run_worker()
    row = AICall.objects.get(job_id=job.pk)
    cost = row.cost
    assert cost > 0 and row.priced
    Price.objects.create(model="gpt-5.4-mini", unit="output_1m_tokens", price=Decimal("100"))
    row.refresh_from_db()
    assert row.cost == cost


@pytest.mark.django_db(transaction=True)
def test_the_offline_provider_records_usage_at_no_cost(user):
    job = enqueue("sentiment_analysis", TEXT, owner=user)
    run_worker()
    row = AICall.objects.get(job_id=job.pk)
    assert (row.provider, row.model, row.cost, row.user) == ("offline", "offline", 0, user)
    assert Job.objects.get(pk=job.pk).result["provider"] == "offline"


# --- budget caps -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_job_is_held_at_its_cap_and_runs_once_staff_raise_it(fake_openai, user, admin_client):
    cap = BudgetCap.objects.create(user=user, period="month", amount=Decimal("0.01"))
    job = enqueue("sentiment_analysis", TEXT, owner=user, max_attempts=1)
    spend(user, "0.01")  # other work of the user reaches the cap before this job runs
    run_worker()
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and job.is_held
    assert job.held_reason == "monthly budget of $0.01 for ada reached"
    assert job.attempts == 0
    assert job.attempt_history.get().outcome == JobAttempt.Outcome.HELD
    assert fake_openai.count("/v1/responses") == 0  # nothing was paid for
    _start, end = budgets.period_bounds("month")
    assert job.run_at == end  # it would run by itself when the month rolls over

    # The job's page and the API say why it waits.
    page = admin_client.get(f"/admin/jobs/job/{job.pk}/change/").content.decode()
    assert "held: monthly budget of $0.01 for ada reached" in page

    response = admin_client.post(
        f"/admin/briefs/budgetcap/{cap.pk}/change/",
        {"user": user.pk, "period": "month", "amount": "5.00"},
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert not job.is_held and job.run_at <= timezone.now()
    run_worker()
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert fake_openai.count("/v1/responses") == 1
    assert job.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_the_global_cap_holds_everyones_jobs_and_a_daily_cap_rolls_over(fake_openai, user):
    other = get_user_model().objects.create_user("bea")
    BudgetCap.objects.create(user=None, period="month", amount=Decimal("1"))
    job = enqueue("sentiment_analysis", TEXT, owner=user)
    spend(other, "1.00")
    run_worker()
    job.refresh_from_db()
    assert job.held_reason == "monthly budget of $1.00 reached"

    BudgetCap.objects.all().delete()
    BudgetCap.objects.create(user=user, period="day", amount=Decimal("0.50"))
    spend(user, "0.50", when=timezone.now() - timedelta(days=1, hours=1))
    assert budgets.breach(user.pk) is None  # yesterday's spend does not count today
    spend(user, "0.50")
    found = budgets.breach(user.pk)
    assert found is not None and found.reason == "daily budget of $0.50 for ada reached"
    start, end = budgets.period_bounds("day")
    assert found.resets_at == end and end - start == timedelta(days=1)
    assert timezone.localtime(end).hour == 0


def test_periods_roll_over_at_midnight_and_on_the_first(settings):
    settings.TIME_ZONE = "Europe/Paris"
    from django.utils import timezone as tz

    tz.activate("Europe/Paris")
    try:
        now = tz.make_aware(tz.datetime(2026, 12, 31, 23, 30))
        start, end = budgets.period_bounds("month", now)
        assert (start.month, start.day, end.year, end.month, end.day) == (12, 1, 2027, 1, 1)
        start, end = budgets.period_bounds("day", now)
        assert (start.day, end.month, end.day, end.hour) == (31, 1, 1, 0)
    finally:
        tz.deactivate()


# --- the views -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_spend_panel_and_cost_on_the_job_and_brief_pages(fake_openai, user, admin_client):
    from briefs.services import brief_create, brief_start

    brief = brief_create(owner=user, title="Launch", query="A launch text", media_type="text")
    brief_start(brief=brief)
    run_worker()
    total = selectors.for_brief(brief.pk)["cost"]
    assert total > 0
    BudgetCap.objects.create(user=None, period="month", amount=Decimal("200"))

    panel = admin_client.get("/spend/panel/").content.decode()
    assert f"${total:.2f}" in panel and "gpt-5.4-mini" in panel
    assert "Monthly budget of $200.00 for everyone" in panel
    assert "ada" in panel and "analysis" in panel and f"Brief #{brief.pk}" in panel
    monthly = admin_client.get("/spend/panel/", {"range": "30d"}).content.decode()
    assert "last 30 days" in monthly and "<rect" in monthly

    job = Job.objects.get(brief_links__brief=brief, type="analysis")
    page = admin_client.get(f"/admin/jobs/job/{job.pk}/change/").content.decode()
    assert "gpt-5.4-mini" in page and "$0.0" in page
    page = admin_client.get(f"/admin/briefs/brief/{brief.pk}/change/").content.decode()
    assert f"${total:,.4f}" in page

    dashboard = admin_client.get("/test-worker/").content.decode()
    assert 'hx-get="/spend/panel/"' in dashboard


@pytest.mark.django_db
def test_usage_api_shows_users_their_own_and_staff_everything(client, user, superuser):
    from api.models import ApiToken

    other = get_user_model().objects.create_user("bea")
    spend(user, "0.25")
    spend(user, "0.50")
    spend(other, "2.00")
    BudgetCap.objects.create(user=user, period="day", amount=Decimal("1"))

    def get(who, **params):
        _, raw = ApiToken.objects.create_token(user=who, name="t")
        return client.get("/api/usage", params, headers={"Authorization": f"Bearer {raw}"})

    mine = get(user, group_by="model").json()
    assert mine["totals"]["calls"] == 2 and Decimal(mine["totals"]["cost"]) == Decimal("0.75")
    assert [g["key"] for g in mine["groups"]] == ["gpt-5.4-mini"]
    assert {r["user_id"] for r in mine["rows"]} == {user.pk}
    assert mine["caps"] == [
        {
            "scope": "user",
            "period": "day",
            "amount": "1.00",
            "spent": "0.750000",
            "reached": False,
            "resets_at": mine["caps"][0]["resets_at"],
        }
    ]
    assert get(user, user_id=other.pk).status_code == 403

    everyone = get(superuser, group_by="user").json()
    assert Decimal(everyone["totals"]["cost"]) == Decimal("2.75")
    assert [g["key"] for g in everyone["groups"]] == ["bea", "ada"]
    only_bea = get(superuser, user_id=other.pk).json()
    assert only_bea["totals"]["calls"] == 1
    assert get(superuser, group_by="nonsense").status_code == 422


@pytest.mark.django_db
def test_csv_export_for_staff_only(client, user, superuser):
    from api.models import ApiToken

    row = spend(user, "0.123456")
    AICall.objects.filter(pk=row.pk).update(job_type="=cmd|' /C calc'!A0")
    _, raw = ApiToken.objects.create_token(user=user, name="t")
    refused = client.get("/api/usage/export.csv", headers={"Authorization": f"Bearer {raw}"})
    assert refused.status_code == 403

    client.force_login(superuser)
    response = client.get("/api/usage/export.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(lines) == 1
    line = lines[0]
    assert line["cost"] == "0.123456" and line["model"] == "gpt-5.4-mini"
    assert line["user_id"] == str(user.pk) and line["kind"] == "text"
    assert line["job_type"].startswith("'=")  # never a formula in a spreadsheet


# --- refused up front ------------------------------------------------------------------------


@pytest.mark.django_db
def test_new_paid_work_is_refused_while_a_cap_is_reached(client, user, admin_client):
    from api.models import ApiToken
    from briefs.models import Brief
    from briefs.services import brief_create, brief_start

    BudgetCap.objects.create(user=user, period="month", amount=Decimal("0.50"))
    spend(user, "0.50")
    _, raw = ApiToken.objects.create_token(user=user, name="t")
    auth = {"Authorization": f"Bearer {raw}"}

    response = client.post(
        "/api/jobs/sentiment_analysis/start",
        {"payload": TEXT},
        content_type="application/json",
        headers=auth,
    )
    assert response.status_code == 402
    body = response.json()
    assert body["error"] == "budget_reached"
    assert "monthly budget of $0.50 for ada reached" in body["message"]
    assert "Nothing was started." in body["message"]

    before = Brief.objects.count()
    response = client.post(
        "/api/briefs",
        {"title": "T", "query": "Q", "media_type": "text", "start": True},
        content_type="application/json",
        headers=auth,
    )
    assert response.status_code == 402 and Brief.objects.count() == before  # nothing half-made

    brief = brief_create(owner=user, title="T", query="Q", media_type="text")
    page = admin_client.post(
        "/admin/briefs/brief/",
        {"action": "start_pipeline", "_selected_action": [brief.pk]},
        follow=True,
    ).content.decode()
    assert "monthly budget of $0.50 for ada reached" in page
    assert Job.objects.count() == 0

    # A failed AI job is not requeued either (staff see why).
    from briefs.spend.exceptions import BudgetReached

    failed = Job.objects.create(type="sentiment_analysis", owner=user, status=Job.Status.FAILED)
    with pytest.raises(BudgetReached, match="monthly budget"):
        failed.requeue()
    assert Job.objects.get(pk=failed.pk).status == Job.Status.FAILED

    # Work that calls no AI is not refused; once the cap is raised, paid work starts.
    assert enqueue("noop", {}, owner=user).pk
    BudgetCap.objects.filter(user=user).update(amount=Decimal("5"))
    assert [job.type for job in brief_start(brief=brief)] == ["analysis"]
