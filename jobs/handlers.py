"""Built-in job types: ``noop`` for smoke checks and benchmarks, ``sleep`` for everything that
needs a job that takes a while."""

from __future__ import annotations

from typing import Any

from jobs.context import JobContext
from jobs.exceptions import InvalidPayload
from jobs.registry import register

MAX_SLEEP_SECONDS = 3600


def _sleep_payload(payload: dict[str, Any]) -> dict[str, Any]:
    seconds = payload.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise InvalidPayload('sleep needs {"seconds": <number>}, for example {"seconds": 2}.')
    if not 0 <= seconds <= MAX_SLEEP_SECONDS:
        raise InvalidPayload(f"seconds must be between 0 and {MAX_SLEEP_SECONDS}.")
    return {"seconds": seconds}


@register("noop")
def noop(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Return the payload unchanged."""
    return payload


@register("sleep", validate=_sleep_payload)
def sleep(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Sleep for payload["seconds"], waking for cancellation and timeouts."""
    seconds = payload["seconds"]
    ctx.progress(0, f"Sleeping {seconds}s")
    ctx.sleep(seconds)
    return {"slept": seconds}


@register("prune_jobs")
def prune_jobs(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Delete finished jobs older than JOB_RETENTION_DAYS (run daily by the built-in schedule)."""
    from datetime import timedelta

    from jobs import conf
    from jobs.controls import ScheduleRun
    from jobs.services import prune_finished

    days = conf.retention_days()
    if days <= 0:
        return {"deleted": 0, "note": "JOB_RETENTION_DAYS is 0: nothing is pruned"}
    older_than = timedelta(days=days)
    deleted = prune_finished(older_than=older_than)
    cutoff = ctx.job.created_at - older_than
    runs, _ = ScheduleRun.objects.filter(tick__lt=cutoff).delete()
    return {"deleted": deleted, "schedule_runs_deleted": runs, "older_than_days": days}
