"""The briefs app listens to the queue's hooks (``jobs/hooks.py``) for its own job types only.

Each receiver runs inside the transaction of the job's transition: the brief's link rows and
its stored status move together with the job, or not at all.
"""

from __future__ import annotations

from typing import Any

from briefs.services import BRIEF_JOB_TYPES, brief_jobs_moved
from jobs import hooks


def job_moved(*, jobs: list[Any]) -> None:
    """A job of a brief succeeded, failed for good, was cancelled or requeued."""
    brief_jobs_moved(jobs=jobs)


def connect() -> None:
    """Called from ``BriefsConfig.ready()``."""
    for hook in (hooks.succeeded, hooks.failed, hooks.cancelled, hooks.requeued):
        hook.connect(job_moved, job_types=BRIEF_JOB_TYPES)
