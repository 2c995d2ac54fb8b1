"""Move a job to an outcome through the queue's own transitions (which send the hooks), without
running its handler: the job is taken as a worker would take it, then marked."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from jobs.models import Job


def finish(job: Job, status: str, *, error: str = "boom", result: Any = None) -> Job:
    """``succeeded``, ``failed`` (for good) or ``cancelled``; returns the job, reloaded."""
    job.refresh_from_db()
    if status == Job.Status.CANCELLED and job.status == Job.Status.QUEUED:
        assert job.cancel(reason=error)
        job.refresh_from_db()
        return job
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, worker_id="test", attempts=1, started_at=timezone.now()
    )
    job.refresh_from_db()
    if status == Job.Status.SUCCEEDED:
        assert job.mark_succeeded(result if result is not None else {})
    elif status == Job.Status.FAILED:
        assert job.mark_failed(error, retry=False)
    elif status == Job.Status.CANCELLED:
        assert job.mark_cancelled(error)
    else:
        raise ValueError(status)
    job.refresh_from_db()
    return job
