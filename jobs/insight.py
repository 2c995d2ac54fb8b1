"""Read-only figures for operators: queues (depth, state, limits) and job types (failure rate,
run times), over a window. Every query is bounded: live counts read the partial indexes on live
jobs, windowed figures read the ``finished_at`` index over the window, and percentiles are taken
over at most ``SAMPLE`` recent jobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from jobs import registry
from jobs.controls import Queue
from jobs.models import Job

WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
SAMPLE = 5000  # most recent finished jobs a percentile is computed from


@dataclass
class QueueSummary:
    name: str
    ready: int = 0  # due, nothing to wait for: a worker takes these next
    blocked: int = 0  # due, but waiting on an earlier step (a dependency)
    scheduled: int = 0  # not due yet (delayed, or a retry's backoff)
    running: int = 0
    record: Queue | None = None

    @property
    def queued(self) -> int:
        return self.ready + self.blocked + self.scheduled

    @property
    def paused(self) -> bool:
        return bool(self.record and self.record.paused)

    @property
    def held_until(self) -> datetime | None:
        record = self.record
        return record.held_until if record and record.held(timezone.now()) else None

    def as_dict(self) -> dict:
        record = self.record
        return {
            "name": self.name,
            "ready": self.ready,
            "blocked": self.blocked,
            "scheduled": self.scheduled,
            "running": self.running,
            "paused": self.paused,
            "paused_by": record.paused_by if record and record.paused else "",
            "paused_at": record.paused_at.isoformat() if record and record.paused_at else None,
            "pause_reason": record.pause_reason if record and record.paused else "",
            "concurrency_limit": record.concurrency_limit if record else None,
            "rate_limit": record.rate_limit if record else None,
            "rate_period": record.rate_period if record else None,
            "held_until": self.held_until.isoformat() if self.held_until else None,
            "hold_reason": record.hold_reason if self.held_until and record else "",
        }


def queue_summaries(*, now: datetime | None = None) -> list[QueueSummary]:
    """Every queue that has a record, a registered type or live jobs, with its live figures.
    ``ready`` is what a worker would take now: exactly the jobs the pending list shows."""
    now = now or timezone.now()
    summaries: dict[str, QueueSummary] = {}

    def of(name: str) -> QueueSummary:
        return summaries.setdefault(name, QueueSummary(name=name))

    for record in Queue.objects.all():
        of(record.name).record = record
    for job_type in registry.all_types():
        of(job_type.queue)
    for row in (
        Job.objects.filter(status=Job.Status.QUEUED)
        .order_by()
        .values("queue")
        .annotate(
            due=Count("id", filter=Q(run_at__lte=now)), later=Count("id", filter=Q(run_at__gt=now))
        )
    ):
        summary = of(row["queue"])
        summary.ready, summary.scheduled = row["due"], row["later"]
    # Only due jobs with a dependency need it looked up (by primary key), as in the claim.
    for blocked in (
        Job.objects.filter(status=Job.Status.QUEUED, run_at__lte=now, depends_on__isnull=False)
        .exclude(depends_on__status=Job.Status.SUCCEEDED)
        .order_by()
        .values("queue")
        .annotate(n=Count("id"))
    ):
        summary = of(blocked["queue"])
        summary.ready -= blocked["n"]
        summary.blocked = blocked["n"]
    for running in (
        Job.objects.filter(status=Job.Status.RUNNING)
        .order_by()
        .values("queue")
        .annotate(n=Count("id"))
    ):
        of(running["queue"]).running = running["n"]
    return [summaries[name] for name in sorted(summaries)]


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


@dataclass
class Timings:
    finished: int = 0
    succeeded: int = 0
    failed: int = 0
    wait_p50: float | None = None
    wait_p95: float | None = None
    run_p50: float | None = None
    run_p95: float | None = None
    sampled: int = 0

    @property
    def per_minute(self) -> float:
        return 0.0


@dataclass
class WindowFigures:
    window: str
    timings: Timings = field(default_factory=Timings)

    @property
    def throughput_per_hour(self) -> float:
        hours = WINDOWS[self.window].total_seconds() / 3600
        return self.timings.finished / hours


def _timings(queryset, *, since: datetime) -> Timings:
    finished = queryset.filter(finished_at__gte=since).order_by()
    counts = finished.aggregate(
        total=Count("id"),
        succeeded=Count("id", filter=Q(status=Job.Status.SUCCEEDED)),
        failed=Count("id", filter=Q(status=Job.Status.FAILED)),
    )
    rows = list(
        finished.filter(started_at__isnull=False)
        .order_by("-finished_at")
        .values_list("created_at", "started_at", "finished_at")[:SAMPLE]
    )
    waits = [(started - created).total_seconds() for created, started, _ in rows]
    runs = [(done - started).total_seconds() for _, started, done in rows]
    return Timings(
        finished=counts["total"],
        succeeded=counts["succeeded"],
        failed=counts["failed"],
        wait_p50=percentile(waits, 0.5),
        wait_p95=percentile(waits, 0.95),
        run_p50=percentile(runs, 0.5),
        run_p95=percentile(runs, 0.95),
        sampled=len(rows),
    )


def queue_windows(name: str, *, now: datetime | None = None) -> list[WindowFigures]:
    """Throughput, wait (enqueue → start of the last attempt) and run time of a queue over
    1 h, 24 h and 7 d."""
    now = now or timezone.now()
    jobs = Job.objects.filter(queue=name)
    return [
        WindowFigures(window=key, timings=_timings(jobs, since=now - span))
        for key, span in WINDOWS.items()
    ]


@dataclass
class TypeStats:
    type: str
    finished: int
    succeeded: int
    failed: int
    run_p50: float | None
    run_p95: float | None
    last_error: str
    last_failed_at: datetime | None

    @property
    def failure_rate(self) -> float | None:
        ended = self.succeeded + self.failed
        return self.failed / ended if ended else None


TYPE_SORTS = {
    "type": lambda s: s.type,
    "count": lambda s: -s.finished,
    "failure": lambda s: -(s.failure_rate or 0),
    "p50": lambda s: -(s.run_p50 or 0),
    "p95": lambda s: -(s.run_p95 or 0),
}


def type_stats(
    *, window: str = "24h", sort: str = "type", now: datetime | None = None
) -> list[TypeStats]:
    """Per job type over the window: jobs finished, failure rate, run time p50/p95, last error."""
    now = now or timezone.now()
    since = now - WINDOWS.get(window, WINDOWS["24h"])
    finished = Job.objects.filter(finished_at__gte=since).order_by()
    rows = finished.values("type").annotate(
        total=Count("id"),
        succeeded=Count("id", filter=Q(status=Job.Status.SUCCEEDED)),
        failed=Count("id", filter=Q(status=Job.Status.FAILED)),
    )
    stats = []
    for row in rows:
        of_type = finished.filter(type=row["type"])
        runs = [
            (done - started).total_seconds()
            for started, done in of_type.filter(started_at__isnull=False)
            .order_by("-finished_at")
            .values_list("started_at", "finished_at")[:SAMPLE]
            if started and done
        ]
        last = (
            Job.objects.filter(type=row["type"], status=Job.Status.FAILED)
            .order_by("-finished_at")
            .values_list("error", "finished_at")
            .first()
        )
        stats.append(
            TypeStats(
                type=row["type"],
                finished=row["total"],
                succeeded=row["succeeded"],
                failed=row["failed"],
                run_p50=percentile(runs, 0.5),
                run_p95=percentile(runs, 0.95),
                last_error=(last[0] if last else "")[:500],
                last_failed_at=last[1] if last else None,
            )
        )
    return sorted(stats, key=TYPE_SORTS.get(sort, TYPE_SORTS["type"]))
