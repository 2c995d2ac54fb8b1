"""Budget caps under concurrency, on PostgreSQL: many threads, each with its own connection,
check the cap and record calls at once. The documented bound (briefs/spend/budgets.py): once
the spend reaches a cap no call starts, so the overshoot is at most the calls in flight."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from briefs.models import AICall, BudgetCap, Price
from briefs.spend import budgets
from briefs.spend.usage import Usage, record
from jobs.context import JobContext
from jobs.exceptions import JobHeld
from jobs.services import enqueue

THREADS = 8
CALL = Decimal("0.30")
CAP = Decimal("1.00")


@pytest.fixture
def paid_model(db):
    Price.objects.create(model="test-image-model", unit=Price.Unit.IMAGES, price=CALL)


def run_threads(target, count: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def wrapped(index: int) -> None:
        try:
            target(index)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def contexts(user, count: int) -> list[JobContext]:
    return [JobContext(enqueue("noop", {}, owner=user), timeout=60) for _ in range(count)]


def paid_call(ctx: JobContext) -> None:
    """What briefs.ai does around a paid call: check, (call), record."""
    budgets.check(ctx)
    record(
        ctx=ctx, provider="openai", model="test-image-model", kind="image", usage=Usage(images=1)
    )


@pytest.mark.django_db(transaction=True)
def test_calls_in_flight_are_the_only_overshoot(postgres_only, paid_model, django_user_model):
    user = django_user_model.objects.create_user("ada")
    BudgetCap.objects.create(user=None, period="month", amount=CAP)
    ctxs = contexts(user, THREADS)
    # Just under the cap: every thread passes its check, then all finish their calls at once.
    AICall.objects.create(user=user, provider="openai", model="x", kind="text", cost="0.90")
    passed = threading.Barrier(THREADS, timeout=30)

    def worker(index: int) -> None:
        budgets.check(ctxs[index])
        passed.wait()  # all checked before any recorded: THREADS calls in flight
        record(
            ctx=ctxs[index],
            provider="openai",
            model="test-image-model",
            kind="image",
            usage=Usage(images=1),
        )

    assert run_threads(worker, THREADS) == []
    total = budgets.spent(since=budgets.period_bounds("month")[0])
    assert total == Decimal("0.90") + THREADS * CALL  # every call in flight was recorded
    assert total - CAP <= THREADS * CALL  # the bound: the calls in flight, no more
    # And now nothing starts.
    for ctx in ctxs:
        with pytest.raises(JobHeld, match=r"monthly budget of \$1.00 reached"):
            budgets.check(ctx)


@pytest.mark.django_db(transaction=True)
def test_threads_racing_to_the_cap_stop_within_the_bound(
    postgres_only, paid_model, django_user_model
):
    user = django_user_model.objects.create_user("ada")
    BudgetCap.objects.create(user=user, period="day", amount=CAP)
    ctxs = contexts(user, THREADS)
    calls = [0] * THREADS

    def worker(index: int) -> None:
        for _ in range(100):
            try:
                paid_call(ctxs[index])
            except JobHeld:
                return
            calls[index] += 1
        raise AssertionError("never held")

    assert run_threads(worker, THREADS) == []
    total = budgets.spent(since=budgets.period_bounds("day")[0], user_id=user.pk)
    assert AICall.objects.count() == sum(calls)
    assert total >= CAP  # the cap was reached…
    # …and overshot by at most the calls that had passed their check when it was reached:
    # one per thread, less the one that reached it.
    assert total < CAP + THREADS * CALL
    assert sum(calls) <= (CAP / CALL).to_integral_value(rounding="ROUND_CEILING") + THREADS - 1
