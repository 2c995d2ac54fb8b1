"""Read-only queries about jobs and workers, for commands, the dashboard and the API."""

from __future__ import annotations

from django.db.models import Count

from jobs.models import Job


def job_counts_by_status() -> dict[str, int]:
    """Every status with its number of jobs, zero included."""
    counts = dict.fromkeys(Job.Status.values, 0)
    for row in Job.objects.order_by().values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts
