"""Credits: what a job costs its owner, taken when it is enqueued and given back if it never
succeeds.

Rules (also in the README):

- A job type's ``cost`` comes from the queue's registry (``@register(..., cost=N)``). Cost 0 is
  free. The queue knows nothing of credits: :mod:`credits.receivers` hears its hooks.
- Jobs without an owner (system and staff work) and free jobs never touch credits: a user needs
  no account for them.
- A user's account is created on their first paid job with ``CREDITS_STARTING_BALANCE`` credits
  (a ``grant`` line in the ledger). Staff add credits with :func:`grant`.
- The charge is one conditional ``UPDATE … SET balance = balance - cost WHERE balance >= cost``
  inside the enqueue transaction: two concurrent enqueues can never overdraw, and without enough
  credits :class:`~credits.exceptions.InsufficientCredits` is raised and nothing is enqueued.
- A job that fails for good or is cancelled gets its charge back (a ``refund`` line). A job that
  staff requeue is charged again.
- Every change of a balance writes one :class:`~credits.models.CreditEntry`, so the ledger always
  sums to the balance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import F, Sum

from credits import conf
from credits.exceptions import InsufficientCredits
from credits.models import CreditAccount, CreditEntry
from jobs import registry
from jobs.exceptions import UnknownJobType
from jobs.models import Job


def cost_of(job_type: str) -> int:
    try:
        return max(0, int(registry.get(job_type).cost))
    except UnknownJobType:
        return 0


def is_paid(job_type: str) -> bool:
    return cost_of(job_type) > 0


def account_for(user: Any) -> CreditAccount:
    """The user's account, created with the starting balance (and its grant line) if new."""
    account = CreditAccount.objects.filter(user=user).first()
    if account is not None:
        return account
    starting = conf.starting_balance()
    with transaction.atomic():
        account, created = CreditAccount.objects.get_or_create(
            user=user, defaults={"balance": starting}
        )
        if created and starting:
            CreditEntry.objects.create(
                account=account,
                kind=CreditEntry.Kind.GRANT,
                delta=starting,
                balance_after=starting,
                note="Starting balance",
            )
    return account


def balance(user: Any) -> int:
    """The user's balance; a user without an account has the starting balance to come."""
    account = CreditAccount.objects.filter(user=user).first()
    return account.balance if account else conf.starting_balance()


def grant(user: Any, amount: int, *, note: str = "") -> int:
    """Add ``amount`` credits (staff top-up). Returns the new balance."""
    if amount <= 0:
        raise ValueError("A grant must be a positive number of credits.")
    with transaction.atomic():
        account = account_for(user)
        CreditAccount.objects.filter(pk=account.pk).update(balance=F("balance") + amount)
        new_balance = CreditAccount.objects.values_list("balance", flat=True).get(pk=account.pk)
        CreditEntry.objects.create(
            account=account,
            kind=CreditEntry.Kind.GRANT,
            delta=amount,
            balance_after=new_balance,
            note=note[:200],
        )
    return new_balance


def charge_jobs(jobs: Sequence[Job]) -> None:
    """Take the cost of freshly saved jobs from their owners, atomically, or raise
    :class:`InsufficientCredits` (the caller's transaction then rolls the jobs back)."""
    by_owner: dict[int, list[Job]] = {}
    for job in jobs:
        if job.owner_id is not None and cost_of(job.type) > 0:
            by_owner.setdefault(job.owner_id, []).append(job)
    for owner_jobs in by_owner.values():
        _charge(owner_jobs)


def charge_job(job: Job) -> None:
    """Charge one job unless it holds a charge already (requeue after a refund)."""
    if job.owner_id is None or cost_of(job.type) <= 0 or _net(job) < 0:
        return
    _charge([job])


def refund_job(job: Job) -> None:
    """Give back what the job's owner paid for it and has not had back yet."""
    if job.owner_id is None:
        return
    held = -_net(job)
    if held <= 0:
        return
    entry = CreditEntry.objects.filter(job=job, kind=CreditEntry.Kind.CHARGE).first()
    if entry is None:
        return
    with transaction.atomic():
        CreditAccount.objects.filter(pk=entry.account_id).update(balance=F("balance") + held)
        new_balance = CreditAccount.objects.values_list("balance", flat=True).get(
            pk=entry.account_id
        )
        CreditEntry.objects.create(
            account_id=entry.account_id,
            kind=CreditEntry.Kind.REFUND,
            delta=held,
            balance_after=new_balance,
            job=job,
            job_type=job.type,
            note=f"Job #{job.pk} did not succeed",
        )


def _net(job: Job) -> int:
    return CreditEntry.objects.filter(job=job).aggregate(total=Sum("delta"))["total"] or 0


def _charge(jobs: list[Job]) -> None:
    owner = jobs[0].owner
    costs = [cost_of(job.type) for job in jobs]
    total = sum(costs)
    with transaction.atomic():
        account = account_for(owner)
        if not CreditAccount.objects.filter(pk=account.pk, balance__gte=total).update(
            balance=F("balance") - total
        ):
            current = CreditAccount.objects.values_list("balance", flat=True).get(pk=account.pk)
            kinds = sorted({job.type for job in jobs})
            raise InsufficientCredits(needed=total, balance=current, job_type=", ".join(kinds))
        # The row is locked by our UPDATE until commit, so this read is our own result.
        running = CreditAccount.objects.values_list("balance", flat=True).get(pk=account.pk) + total
        entries = []
        for job, cost in zip(jobs, costs, strict=True):
            running -= cost
            entries.append(
                CreditEntry(
                    account=account,
                    kind=CreditEntry.Kind.CHARGE,
                    delta=-cost,
                    balance_after=running,
                    job=job,
                    job_type=job.type,
                    note=f"Job #{job.pk}",
                )
            )
        CreditEntry.objects.bulk_create(entries)
