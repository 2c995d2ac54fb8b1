"""Read-only queries about jobs and workers, for commands, the dashboard and the API.

Everything here stays cheap with millions of finished jobs in the table: aggregates read an
index (see the dashboard indexes on ``Job.Meta``), lists are bounded, and nothing counts the
whole table more than once per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import CharField, Count, F, Func, Q
from django.db.models.functions import TruncMinute
from django.utils import timezone

from jobs import conf, tallies
from jobs.models import Job, Worker

LIST_LIMIT = 20
# Large columns the dashboard's lists never show (a list row needs the first lines only).
HEAVY_FIELDS = ("payload", "result", "traceback", "usage")


def job_counts_by_status() -> dict[str, int]:
    """Every status with its number of jobs, zero included."""
    counts: dict[str, int] = dict.fromkeys(Job.Status.values, 0)
    # COUNT(*) lets PostgreSQL answer from the (status, type) index alone.
    for row in Job.objects.order_by().values("status").annotate(n=Count("*")):
        counts[row["status"]] = row["n"]
    return counts


def job_counts_by(field: str) -> dict[str, dict[str, int]]:
    """Jobs per ``queue`` or ``type`` and status (every status listed, zero included): one
    grouped count over the table, for the ``jobstats`` command."""
    if field not in ("queue", "type"):
        raise ValueError(f"cannot break jobs down by {field!r}")
    rows: dict[str, dict[str, int]] = {}
    for row in Job.objects.order_by().values(field, "status").annotate(n=Count("*")):
        rows.setdefault(row[field], dict.fromkeys(Job.Status.values, 0))[row["status"]] = row["n"]
    return dict(sorted(rows.items()))


FINISHED_TOTALS_KEY = "jobs:dashboard:finished-totals"


# Counted exactly on every refresh: the tiles beside a list (failures) must agree with it.
EXACT_STATUSES = (Job.Status.QUEUED, Job.Status.RUNNING, Job.Status.FAILED, Job.Status.CANCELLED)


def dashboard_counts() -> dict[str, int]:
    """Counts by status for a dashboard that asks every two seconds: queued, running, failed
    and cancelled jobs exactly each time (partial ranges of the status indexes), so every tile
    agrees with the lists beside it. The all-time totals of finished jobs come from the tallies
    on PostgreSQL (exact); elsewhere the succeeded total, which no list shows and which grows
    with the table, is reused for ``JOBS_DASHBOARD_TOTALS_TTL`` s."""
    counts: dict[str, int] = dict.fromkeys(Job.Status.values, 0)
    for row in (
        Job.objects.filter(status__in=EXACT_STATUSES)
        .order_by()
        .values("status")
        .annotate(n=Count("*"))
    ):
        counts[row["status"]] = row["n"]
    if tallies.available():  # exact and cheap: the tallies PostgreSQL keeps
        finished: dict[str, int] = dict.fromkeys(Job.FINISHED_STATUSES, 0)
        finished.update(tallies.counts_by_status(Job.FINISHED_STATUSES))
        return counts | finished
    ttl = conf.dashboard_totals_ttl()
    succeeded = cache.get(FINISHED_TOTALS_KEY) if ttl > 0 else None
    if succeeded is None:
        succeeded = Job.objects.filter(status=Job.Status.SUCCEEDED).count()
        if ttl > 0:
            cache.set(FINISHED_TOTALS_KEY, succeeded, ttl)
    return counts | {Job.Status.SUCCEEDED.value: succeeded}


@dataclass(frozen=True)
class QueueDepth:
    queue: str
    type: str
    queued: int
    running: int


def queue_depths() -> list[QueueDepth]:
    """Queued and running jobs per queue and type (live jobs only: a partial index)."""
    rows: dict[tuple[str, str], dict[str, int]] = {}
    for row in (
        Job.objects.live().order_by().values("queue", "type", "status").annotate(n=Count("*"))
    ):
        counts = rows.setdefault((row["queue"], row["type"]), {"queued": 0, "running": 0})
        counts[row["status"]] = row["n"]
    return [
        QueueDepth(queue=queue, type=type_, **counts)
        for (queue, type_), counts in sorted(rows.items())
    ]


@dataclass(frozen=True)
class Minute:
    start: datetime
    succeeded: int
    failed: int

    @property
    def total(self) -> int:
        return self.succeeded + self.failed


@dataclass(frozen=True)
class Throughput:
    minutes: list[Minute]

    @property
    def succeeded(self) -> int:
        return sum(m.succeeded for m in self.minutes)

    @property
    def failed(self) -> int:
        return sum(m.failed for m in self.minutes)

    @property
    def total(self) -> int:
        return self.succeeded + self.failed

    @property
    def peak(self) -> int:
        return max((m.total for m in self.minutes), default=0)

    @property
    def success_rate(self) -> float | None:
        """Share of finished attempts that succeeded (cancelled jobs not counted), or None."""
        return self.succeeded / self.total if self.total else None


def throughput(*, minutes: int = 60, now: datetime | None = None) -> Throughput:
    """Jobs that succeeded and failed for good in each of the last ``minutes`` minutes."""
    now = now or timezone.now()
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(minutes=minutes)
    buckets = {start + timedelta(minutes=i): {"succeeded": 0, "failed": 0} for i in range(minutes)}
    if tallies.available():
        for (minute, status), n in tallies.finished_by_minute(start, end).items():
            if status in ("succeeded", "failed") and minute in buckets:
                buckets[minute][status] = n
        return Throughput(minutes=[Minute(start=at, **counts) for at, counts in buckets.items()])
    rows = (
        Job.objects.filter(
            finished_at__gte=start,
            finished_at__lt=end,
            status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED],
        )
        .order_by()
        .annotate(minute=_minute("finished_at"))
        .values("minute", "status")
        .annotate(n=Count("*"))
    )
    for row in rows:
        minute = row["minute"]
        if isinstance(minute, str):  # SQLite: "YYYY-MM-DD HH:MM" of a UTC timestamp
            minute = datetime.fromisoformat(minute).replace(tzinfo=UTC)
        bucket = buckets.get(minute)
        if bucket is not None:
            bucket[row["status"]] = row["n"]
    return Throughput(minutes=[Minute(start=at, **counts) for at, counts in buckets.items()])


def _minute(field: str) -> Func | TruncMinute:
    """The minute of a timestamp, cheap enough to compute for every job of the last hour.
    SQLite stores UTC text, whose first 16 characters are the minute: no per-row function
    call into Python as with ``TruncMinute``."""
    if connection.vendor == "sqlite":
        return Func(
            F(field),
            function="substr",
            template="substr(%(expressions)s, 1, 16)",
            output_field=CharField(),
        )
    return TruncMinute(field)


@dataclass(frozen=True)
class Waiting:
    ready: int  # what a worker would take now: exactly the jobs the pending list shows
    scheduled: int
    oldest: Job | None
    blocked: int = 0  # due, but waiting on an earlier step that has not succeeded

    @property
    def oldest_age(self) -> timedelta | None:
        return timezone.now() - self.oldest.run_at if self.oldest else None


def waiting(*, now: datetime | None = None) -> Waiting:
    """Queued jobs that are due now, those scheduled for later, and the one waiting longest."""
    now = now or timezone.now()
    counts = Job.objects.filter(status=Job.Status.QUEUED).aggregate(
        due=Count("run_at", filter=Q(run_at__lte=now)),
        scheduled=Count("run_at", filter=Q(run_at__gt=now)),
    )
    # Only due jobs with a dependency need their dependency looked up (by primary key).
    blocked = (
        Job.objects.filter(status=Job.Status.QUEUED, run_at__lte=now, depends_on__isnull=False)
        .exclude(depends_on__status=Job.Status.SUCCEEDED)
        .count()
    )
    oldest = (
        Job.objects.ready(now=now)
        .order_by("run_at", "id")
        .only("id", "type", "queue", "run_at")
        .first()
    )
    return Waiting(
        ready=counts["due"] - blocked,
        scheduled=counts["scheduled"],
        oldest=oldest,
        blocked=blocked,
    )


def stuck_count(*, now: datetime | None = None) -> int:
    return Job.objects.stuck(now=now).count()


def pending_jobs(*, limit: int = LIST_LIMIT) -> list[Job]:
    """The next jobs a worker will take, in the order it takes them."""
    return list(Job.objects.ready().defer(*HEAVY_FIELDS)[:limit])


def active_jobs(*, limit: int = 50) -> list[Job]:
    """Running jobs, longest running first."""
    return list(
        Job.objects.filter(status=Job.Status.RUNNING)
        .defer(*HEAVY_FIELDS)
        .order_by("started_at", "id")[:limit]
    )


def recent_failures(*, limit: int = LIST_LIMIT) -> list[Job]:
    """Jobs that failed for good, newest first."""
    return list(
        Job.objects.filter(status=Job.Status.FAILED)
        .defer(*HEAVY_FIELDS)
        .order_by("-finished_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class WorkerStatus:
    worker: Worker
    alive: bool
    heartbeat_age: timedelta
    running: list[Job]

    @property
    def load(self) -> float:
        """Busy threads as a share of the worker's concurrency (0 to 1)."""
        concurrency = self.worker.concurrency or 1
        return min(1.0, len(self.running) / concurrency)


def worker_statuses(*, now: datetime | None = None, limit: int = 100) -> list[WorkerStatus]:
    """Every known worker with what it runs now, alive ones first (two queries in all)."""
    now = now or timezone.now()
    stale_after = timedelta(seconds=conf.worker_stale_seconds())
    workers = list(Worker.objects.order_by("-last_heartbeat")[:limit])
    running: dict[str, list[Job]] = {}
    for job in (
        Job.objects.filter(status=Job.Status.RUNNING, worker_id__in=[w.pk for w in workers])
        .only("id", "type", "progress", "current_step", "worker_id", "started_at", "status")
        .order_by("started_at")
    ):
        running.setdefault(job.worker_id, []).append(job)
    statuses = [
        WorkerStatus(
            worker=worker,
            alive=now - worker.last_heartbeat < stale_after,
            heartbeat_age=max(timedelta(0), now - worker.last_heartbeat),
            running=running.get(worker.pk, []),
        )
        for worker in workers
    ]
    return sorted(statuses, key=lambda s: (not s.alive, s.worker.started_at))
