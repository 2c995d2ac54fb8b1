"""``GET /api/health``: does the service work?

The verdict is about the service, never about what users' jobs do: the database answers,
workers are alive, and the queue moves. How many jobs fail is reported (``successRate``) but
judges nothing, so no user can make the health check fail by starting jobs that fail.

``healthy``: jobs start soon after they are due. ``degraded`` (HTTP 200): something needs a
look (no live worker, a job waiting over a minute, a backlog, every worker slot busy while jobs
wait). ``unhealthy`` (HTTP 503): the database cannot be reached, or the queue is stuck — a
ready job has waited over ten minutes although no live worker is busy with every slot (workers
dead, or alive and not taking jobs). The numbers are in :mod:`api.conf`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Literal

from django.db import DatabaseError
from django.db.models import Count, Min, Sum
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema
from ninja.responses import Status

from api import conf
from jobs import tallies
from jobs.models import Job
from jobs.models import Worker as WorkerRow

logger = logging.getLogger("api")
router = Router(tags=["health"])

HEALTHY, DEGRADED, UNHEALTHY = "healthy", "degraded", "unhealthy"


class HealthMetrics(Schema):
    queueDepth: int = Field(description="Queued jobs that are due now")
    scheduledJobs: int = Field(description="Queued jobs due later (delays and retries)")
    runningJobs: int
    liveWorkers: int
    processingCapacity: int = Field(description="Job slots of the live workers")
    busySlots: int = Field(description="Slots the live workers report busy")
    successRate: float | None = Field(
        description="Percent of the jobs finished in the last hour that succeeded (cancelled "
        "ones not counted); null when none finished"
    )
    finishedLastHour: int = Field(description="Succeeded, failed and cancelled")
    succeededLastHour: int
    failedLastHour: int
    oldestWaitingSeconds: float | None = Field(
        description="How long the longest-waiting ready job has been due; null when none waits"
    )


class HealthOut(Schema):
    status: Literal["healthy", "degraded", "unhealthy"]
    message: str
    reasons: list[str]
    checked_at: datetime
    metrics: HealthMetrics | None
    thresholds: dict[str, float]


def measure(*, now: datetime | None = None) -> dict[str, Any]:
    """The numbers behind the verdict, in a handful of indexed queries."""
    now = now or timezone.now()
    queued = Job.objects.filter(status=Job.Status.QUEUED)
    queue_depth = queued.filter(run_at__lte=now).count()
    scheduled = queued.filter(run_at__gt=now).count()
    running = Job.objects.filter(status=Job.Status.RUNNING).count()
    oldest = Job.objects.ready(now=now).order_by().aggregate(oldest=Min("run_at"))["oldest"]
    finished = _finished_by_status(now - timedelta(hours=1))
    workers = WorkerRow.objects.alive(now=now).aggregate(
        n=Count("id"), capacity=Sum("concurrency"), busy=Sum("jobs_running")
    )
    succeeded = finished.get(Job.Status.SUCCEEDED, 0)
    failed = finished.get(Job.Status.FAILED, 0)
    judged = succeeded + failed
    return {
        "queueDepth": queue_depth,
        "scheduledJobs": scheduled,
        "runningJobs": running,
        "liveWorkers": workers["n"] or 0,
        "processingCapacity": workers["capacity"] or 0,
        "busySlots": workers["busy"] or 0,
        "successRate": round(100 * succeeded / judged, 1) if judged else None,
        "finishedLastHour": judged + finished.get(Job.Status.CANCELLED, 0),
        "succeededLastHour": succeeded,
        "failedLastHour": failed,
        "oldestWaitingSeconds": round(max(0.0, (now - oldest).total_seconds()), 1)
        if oldest
        else None,
    }


def _finished_by_status(since: datetime) -> dict[str, int]:
    """Jobs finished since ``since`` by status: from the tallies PostgreSQL keeps (a cost that
    does not grow with the jobs of the last hour), or by counting them (SQLite)."""
    if tallies.available():
        counts: dict[str, int] = {}
        for (_, status), entry in tallies.finished_since(since).items():
            counts[status] = counts.get(status, 0) + entry.n
        return counts
    return dict(
        Job.objects.filter(finished_at__gte=since)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )


def judge(metrics: dict[str, Any], thresholds: dict[str, float]) -> tuple[str, list[str]]:
    """The verdict and its reasons, worst first. Only the service's own state counts: the
    success rate of users' jobs is a metric, not a verdict."""
    unhealthy: list[str] = []
    degraded: list[str] = []
    wait = metrics["oldestWaitingSeconds"]
    workers, capacity = metrics["liveWorkers"], metrics["processingCapacity"]
    # Every slot busy: jobs wait because the workers are full, not because the queue is stuck
    # (long jobs a user started may do that); a capacity matter, worth a look, not an outage.
    saturated = workers > 0 and metrics["busySlots"] >= capacity
    if wait is not None and wait > thresholds["wait_unhealthy_seconds"] and not saturated:
        unhealthy.append(
            f"A ready job has waited {wait:.0f}s for a worker "
            f"(unhealthy above {thresholds['wait_unhealthy_seconds']:.0f}s): the queue is stuck."
        )
    elif wait is not None and wait > thresholds["wait_degraded_seconds"]:
        degraded.append(
            f"A ready job has waited {wait:.0f}s for a worker "
            f"(degraded above {thresholds['wait_degraded_seconds']:.0f}s)"
            + (f"; all {capacity} worker slot(s) are busy." if saturated else ".")
        )
    if workers == 0:
        degraded.append("No live worker: jobs run only when POST /api/cron/process-jobs is called.")
    elif metrics["queueDepth"] > capacity * thresholds["backlog_per_slot"]:
        degraded.append(
            f"{metrics['queueDepth']} jobs are due for {capacity} worker "
            f"slot(s) (degraded above {thresholds['backlog_per_slot']:.0f} per slot)."
        )
    if unhealthy:
        return UNHEALTHY, unhealthy + degraded
    if degraded:
        return DEGRADED, degraded
    return HEALTHY, []


MESSAGES = {
    HEALTHY: "All systems operational.",
    DEGRADED: "The queue works but needs a look.",
    UNHEALTHY: "Jobs are not being processed properly.",
}


@router.get("/health", auth=None, response={200: HealthOut, 503: HealthOut})
def health(request: HttpRequest) -> Any:
    """The queue's health, for load balancers and monitoring (no login needed: it shows
    only totals). HTTP 503 when unhealthy."""
    thresholds = conf.health_thresholds()
    now = timezone.now()
    try:
        metrics = measure(now=now)
    except DatabaseError:
        logger.exception("Health check could not query the database")
        body = {
            "status": UNHEALTHY,
            "message": MESSAGES[UNHEALTHY],
            "reasons": ["The database cannot be reached."],
            "checked_at": now,
            "metrics": None,
            "thresholds": thresholds,
        }
        return Status(503, body)
    status, reasons = judge(metrics, thresholds)
    body = {
        "status": status,
        "message": MESSAGES[status],
        "reasons": reasons,
        "checked_at": now,
        "metrics": metrics,
        "thresholds": thresholds,
    }
    return Status(503 if status == UNHEALTHY else 200, body)
