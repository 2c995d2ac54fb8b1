"""Credits: taken atomically at enqueue, never overdrawn, given back when a job never succeeds."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection

from credits import services as credits
from credits.exceptions import InsufficientCredits
from credits.models import CreditAccount, CreditEntry
from jobs.exceptions import EnqueueRefused, JobError
from jobs.models import Job
from jobs.registry import register
from jobs.services import enqueue, enqueue_many


@register("test_paid", cost=2)
def paid(payload, ctx):
    if payload.get("fail"):
        raise RuntimeError("paid job failed")
    return "done"


@register("test_paid_free")
def free(payload, ctx):
    return "free"


@pytest.fixture
def user(db, settings):
    settings.CREDITS_STARTING_BALANCE = 5
    return get_user_model().objects.create_user("payer")


def ledger_sum(user) -> int:
    return sum(CreditAccount.objects.get(user=user).entries.values_list("delta", flat=True))


def run_worker() -> None:
    call_command("runworker", "--burst", "--concurrency", "1", "--poll-interval", "0.05")


@pytest.mark.django_db
def test_enqueue_charges_the_owner_and_records_it(user):
    job = enqueue("test_paid", {}, owner=user)
    account = CreditAccount.objects.get(user=user)
    assert account.balance == 3
    kinds = list(account.entries.order_by("id").values_list("kind", "delta", "job_id"))
    assert kinds == [("grant", 5, None), ("charge", -2, job.pk)]
    assert ledger_sum(user) == account.balance


@pytest.mark.django_db
def test_free_jobs_and_jobs_without_owner_need_no_account(user):
    enqueue("test_paid_free", {}, owner=user)
    enqueue("test_paid", {})
    assert not CreditAccount.objects.exists()
    assert credits.balance(user) == 5  # what the account will start with


@pytest.mark.django_db
def test_not_enough_credits_is_a_clear_error_and_nothing_is_enqueued(user):
    enqueue("test_paid", {}, owner=user)
    enqueue("test_paid", {}, owner=user)
    with pytest.raises(InsufficientCredits, match="costs 2, the balance is 1") as info:
        enqueue("test_paid", {}, owner=user)
    assert isinstance(info.value, EnqueueRefused)
    assert isinstance(info.value, JobError)
    assert Job.objects.count() == 2
    assert CreditAccount.objects.get(user=user).balance == 1
    with pytest.raises(InsufficientCredits):
        enqueue_many("test_paid", [{}, {}], owner=user)
    assert Job.objects.count() == 2


@pytest.mark.django_db
def test_enqueue_many_charges_each_job(user):
    jobs = enqueue_many("test_paid", [{}, {}], owner=user)
    assert CreditAccount.objects.get(user=user).balance == 1
    assert set(CreditEntry.objects.filter(kind="charge").values_list("job_id", flat=True)) == {
        job.pk for job in jobs
    }
    assert ledger_sum(user) == 1


@pytest.mark.django_db(transaction=True)
def test_failure_for_good_refunds_once_and_requeue_charges_again(user):
    job = enqueue("test_paid", {"fail": True}, owner=user, max_attempts=2)
    run_worker()
    job.refresh_from_db()
    if job.status == Job.Status.QUEUED:  # the retry was not due yet in that pass
        job.run_now()
        run_worker()
        job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.attempts == 2
    assert CreditAccount.objects.get(user=user).balance == 5
    assert list(job.credit_entries.order_by("id").values_list("kind", flat=True)) == [
        "charge",
        "refund",
    ]
    assert job.requeue()
    assert CreditAccount.objects.get(user=user).balance == 3
    assert ledger_sum(user) == 3


@pytest.mark.django_db
def test_cancelling_a_queued_job_refunds_it(user):
    job = enqueue("test_paid", {}, owner=user)
    assert job.cancel()
    assert CreditAccount.objects.get(user=user).balance == 5
    assert job.cancel() is False  # already cancelled: no second refund
    assert CreditAccount.objects.get(user=user).balance == 5


@pytest.mark.django_db
def test_requeue_without_enough_credits_changes_nothing(user):
    job = enqueue("test_paid", {}, owner=user)
    job.cancel()
    enqueue("test_paid", {}, owner=user)
    enqueue("test_paid", {}, owner=user)  # balance 1 now
    with pytest.raises(InsufficientCredits):
        job.requeue()
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert CreditAccount.objects.get(user=user).balance == 1


@pytest.mark.django_db
def test_grant_adds_credits(user):
    assert credits.grant(user, 10, note="top-up") == 15
    with pytest.raises(ValueError):
        credits.grant(user, 0)


@pytest.mark.django_db(transaction=True)
def test_concurrent_enqueues_never_overdraw(user):
    """Two connections enqueue at once; the balance pays for one job only."""
    credits.account_for(user)
    CreditAccount.objects.filter(user=user).update(balance=3)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait(timeout=10)
            enqueue("test_paid", {}, owner=user)
            outcomes.append("enqueued")
        except InsufficientCredits:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["enqueued", "refused"]
    assert CreditAccount.objects.get(user=user).balance == 1
    assert Job.objects.filter(type="test_paid").count() == 1
