"""The queue's hooks, as the budget caps hear them: new or requeued AI work is refused while a
cap that applies to its owner is reached (inside the enqueue's transaction, so nothing is
written). Only the job types that call the AI are heard."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from briefs.spend import budgets
from jobs import hooks
from jobs.models import Job


def refuse_over_budget(*, jobs: Sequence[Job]) -> None:
    """Raise :class:`~briefs.spend.exceptions.BudgetReached` when a cap is reached for the
    owner of any of these jobs."""
    by_owner = sorted(jobs, key=lambda job: job.owner_id or 0)
    for owner_id, owned in groupby(by_owner, key=lambda job: job.owner_id):
        budgets.refuse_if_reached(owner_id=owner_id, job_types=[job.type for job in owned])


def connect() -> None:
    """Called from ``BriefsConfig.ready()``."""
    hooks.enqueued.connect(refuse_over_budget, job_types=budgets.AI_JOB_TYPES)
    hooks.requeued.connect(refuse_over_budget, job_types=budgets.AI_JOB_TYPES)
