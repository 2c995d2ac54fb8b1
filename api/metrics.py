"""``GET /metrics``: the queue in Prometheus' text format.

Web processes do not run jobs, so in-process counters would count nothing: a custom collector
reads the database at each scrape instead, in a few indexed, bounded queries. Numbers "recent"
are over the last hour (``WINDOW``); the duration histogram is counted by the database.

Who may read it: a request with ``Authorization: Bearer <METRICS_TOKEN>`` (for Prometheus), or a
staff user (session or personal API token). Anyone else gets 401 (403 when logged in).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.db import DatabaseError
from django.db.models import Count, ExpressionWrapper, FloatField, Func, Min, Q, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from api import conf
from api.auth import bearer_token
from api.models import ApiToken
from jobs import tallies
from jobs.models import Job, JobAttempt
from jobs.models import Worker as WorkerRow

logger = logging.getLogger("api")

PREFIX = "jobqueue"
WINDOW = timedelta(hours=1)
DURATION_BUCKETS = tallies.DURATION_BUCKETS


class EpochSeconds(Func):
    """Seconds since 1970 of a datetime column, computed by the database itself (SQLite's
    Python date functions would cost a call per row and per bucket)."""

    output_field = FloatField()
    template = "EXTRACT(EPOCH FROM %(expressions)s)"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
            **extra,
        )


class JobsCollector:
    """Reads the jobs and workers tables at scrape time."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(f"{PREFIX}_up", "1 when the database answered this scrape.")
        try:
            metrics = list(self._metrics())
        except DatabaseError:
            logger.exception("metrics: the database did not answer")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    def _metrics(self) -> Iterator[Metric]:
        now = timezone.now()
        since = now - WINDOW

        jobs = GaugeMetricFamily(
            f"{PREFIX}_jobs", "Jobs in the table, by status and type.", labels=["status", "type"]
        )
        for (status, type_), n in sorted(_counts_by_status_and_type().items()):
            jobs.add_metric([status, type_], n)
        yield jobs

        depth = GaugeMetricFamily(
            f"{PREFIX}_queue_depth", "Queued jobs that are due now, by queue.", labels=["queue"]
        )
        scheduled = GaugeMetricFamily(
            f"{PREFIX}_scheduled_jobs",
            "Queued jobs due later (delayed or waiting to retry), by queue.",
            labels=["queue"],
        )
        queued = Job.objects.filter(status=Job.Status.QUEUED).order_by()
        for due in queued.filter(run_at__lte=now).values("queue").annotate(n=Count("id")):
            depth.add_metric([due["queue"]], due["n"])
        for later in queued.filter(run_at__gt=now).values("queue").annotate(n=Count("id")):
            scheduled.add_metric([later["queue"]], later["n"])
        yield depth
        yield scheduled

        oldest = Job.objects.ready(now=now).order_by().aggregate(oldest=Min("run_at"))["oldest"]
        waiting = GaugeMetricFamily(
            f"{PREFIX}_oldest_waiting_seconds",
            "How long the longest-waiting ready job has been due (0 when none waits).",
        )
        waiting.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        yield waiting

        yield from self._finished(since)
        yield from self._retries(since)
        yield from self._workers(now)

    def _finished(self, since: Any) -> Iterator[Metric]:
        if tallies.available():
            yield from self._finished_from_tallies(since)
            return
        finished = GaugeMetricFamily(
            f"{PREFIX}_recent_finished_jobs",
            "Jobs finished in the last hour, by type and status.",
            labels=["type", "status"],
        )
        rows = (
            Job.objects.filter(finished_at__gte=since)
            .order_by()
            .values("type", "status")
            .annotate(n=Count("id"))
        )
        for row in rows:
            finished.add_metric([row["type"], row["status"]], row["n"])
        yield finished

        # One grouped query: per type, how many durations fall under each bound, and their sum.
        run_seconds = ExpressionWrapper(
            EpochSeconds("finished_at") - EpochSeconds("started_at"), output_field=FloatField()
        )
        buckets = {
            f"le_{index}": Count("id", filter=Q(run_seconds__lte=bound))
            for index, bound in enumerate(DURATION_BUCKETS)
        }
        duration_rows: Any = (  # values() rows with the bucket counts named at run time
            Job.objects.filter(
                finished_at__gte=since,
                started_at__isnull=False,
                status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED],
            )
            .order_by()
            .annotate(run_seconds=run_seconds)
            .values("type")
            .annotate(total=Count("id"), seconds=Sum("run_seconds"), **buckets)
        )
        histogram = GaugeHistogramMetricFamily(
            f"{PREFIX}_recent_job_duration_seconds",
            "Run time of the last attempt of jobs finished in the last hour, by type.",
            labels=["type"],
        )
        for entry in sorted(duration_rows, key=lambda entry: entry["type"]):
            counts = [
                (floatToGoString(bound), entry[f"le_{index}"])
                for index, bound in enumerate(DURATION_BUCKETS)
            ]
            counts.append(("+Inf", entry["total"]))
            histogram.add_metric(
                [entry["type"]], counts, gsum_value=max(0.0, entry["seconds"] or 0.0)
            )
        yield histogram

    def _finished_from_tallies(self, since: Any) -> Iterator[Metric]:
        """The same two families from the tallies PostgreSQL keeps (jobs/tallies.py): the cost
        does not grow with the number of jobs finished in the last hour."""
        counts = tallies.finished_since(since)
        finished = GaugeMetricFamily(
            f"{PREFIX}_recent_finished_jobs",
            "Jobs finished in the last hour, by type and status.",
            labels=["type", "status"],
        )
        for (type_, status), entry in sorted(counts.items()):
            finished.add_metric([type_, status], entry.n)
        yield finished
        histogram = GaugeHistogramMetricFamily(
            f"{PREFIX}_recent_job_duration_seconds",
            "Run time of the last attempt of jobs finished in the last hour, by type.",
            labels=["type"],
        )
        by_type: dict[str, tallies.Finished] = {}
        for (type_, _), entry in counts.items():
            merged = by_type.setdefault(type_, tallies.Finished())
            merged.seconds += entry.seconds
            merged.buckets = [a + b for a, b in zip(merged.buckets, entry.buckets, strict=True)]
        for type_, entry in sorted(by_type.items()):
            if not entry.timed:
                continue
            counts_le = [
                (floatToGoString(bound), n)
                for bound, n in zip(DURATION_BUCKETS, entry.cumulative(), strict=True)
            ]
            counts_le.append(("+Inf", entry.timed))
            histogram.add_metric([type_], counts_le, gsum_value=max(0.0, entry.seconds))
        yield histogram

    def _retries(self, since: Any) -> Iterator[Metric]:
        retries = GaugeMetricFamily(
            f"{PREFIX}_recent_retries",
            "Attempts after the first started in the last hour, by type.",
            labels=["type"],
        )
        rows = (
            JobAttempt.objects.filter(started_at__gte=since, number__gt=1)
            .order_by()
            .values("job__type")
            .annotate(n=Count("id"))
        )
        for row in rows:
            retries.add_metric([row["job__type"]], row["n"])
        yield retries
        waiting = GaugeMetricFamily(
            f"{PREFIX}_jobs_awaiting_retry",
            "Queued jobs that failed before and wait for another attempt, by type.",
            labels=["type"],
        )
        awaiting = (
            Job.objects.filter(status=Job.Status.QUEUED, attempts__gt=0)
            .order_by()
            .values("type")
            .annotate(n=Count("id"))
        )
        for pending in awaiting:
            waiting.add_metric([pending["type"]], pending["n"])
        yield waiting

    def _workers(self, now: Any) -> Iterator[Metric]:
        stats = WorkerRow.objects.alive(now=now).aggregate(
            n=Count("id"), capacity=Sum("concurrency"), busy=Sum("jobs_running")
        )
        for name, doc, value in (
            ("live_workers", "Workers whose heartbeat is recent.", stats["n"]),
            ("worker_capacity", "Job slots of the live workers.", stats["capacity"]),
            ("worker_busy_slots", "Slots the live workers report busy.", stats["busy"]),
        ):
            gauge = GaugeMetricFamily(f"{PREFIX}_{name}", doc)
            gauge.add_metric([], value or 0)
            yield gauge


def _counts_by_status_and_type() -> dict[tuple[str, str], int]:
    if tallies.available():
        return tallies.counts_by_status_and_type()
    rows = Job.objects.order_by().values("status", "type").annotate(n=Count("id"))
    return {(row["status"], row["type"]): row["n"] for row in rows}


def _allowed(request: HttpRequest) -> bool | None:
    """True: may read; False: logged in but not staff; None: not authenticated."""
    raw = bearer_token(request)
    if raw is not None:
        secret = conf.metrics_token()
        if secret and constant_time_compare(raw, secret):
            return True
        token = ApiToken.objects.authenticate(raw)
        if token is None:
            return None
        return token.user.is_staff
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return bool(user.is_staff)
    return None


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    allowed = _allowed(request)
    if not allowed:
        status = 401 if allowed is None else 403
        message = (
            "Send 'Authorization: Bearer <METRICS_TOKEN>' or the token of a staff user."
            if status == 401
            else "Only staff may read the metrics."
        )
        response = JsonResponse(
            {
                "error": "unauthenticated" if status == 401 else "forbidden",
                "message": message,
                "fields": [],
            },
            status=status,
        )
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(JobsCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
