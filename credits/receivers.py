"""The queue's hooks, as credits hear them: a paid job is charged when it is enqueued or
requeued, and refunded when it fails for good or is cancelled. Only job types with a ``cost``
are heard, so free work never pays for this."""

from __future__ import annotations

from collections.abc import Sequence

from credits import services
from jobs import hooks
from jobs.models import Job


def charge(*, jobs: Sequence[Job]) -> None:
    services.charge_jobs(jobs)


def charge_again(*, jobs: Sequence[Job]) -> None:
    for job in jobs:
        services.charge_job(job)


def refund(*, jobs: Sequence[Job]) -> None:
    for job in jobs:
        services.refund_job(job)


def connect() -> None:
    paid = services.is_paid
    hooks.enqueued.connect(charge, job_types=paid)
    hooks.requeued.connect(charge_again, job_types=paid)
    hooks.failed.connect(refund, job_types=paid)
    hooks.cancelled.connect(refund, job_types=paid)
