"""The tallies PostgreSQL keeps for the monitoring reads (jobs/tallies.py) always equal what
counting the jobs table gives, through every kind of change a job goes through: enqueue (one
and many), claims and successes of the worker's fast path, failures and retries, cancellation,
requeue, edits that move a finished job out of the last hour, deletion, pruning, TRUNCATE, and
the compaction of their delta rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from jobs import selectors, tallies
from jobs.models import Job
from jobs.services import enqueue, enqueue_many, prune_finished
from jobs.worker import WorkerProcess

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True, params=[1000, 0], ids=["deltas", "compacted-every-read"])
def compaction(request, postgres_only, monkeypatch):
    monkeypatch.setattr(tallies, "COMPACT_ABOVE", request.param)


def counted_by_status_and_type() -> dict[tuple[str, str], int]:
    rows = Job.objects.order_by().values("status", "type").annotate(n=Count("id"))
    return {(row["status"], row["type"]): row["n"] for row in rows}


def counted_finished_since(since) -> dict[tuple[str, str], tuple[int, list[int], float]]:
    out: dict[tuple[str, str], tuple[int, list[int], float]] = {}
    for job in Job.objects.filter(finished_at__gte=since):
        n, buckets, seconds = out.get((job.type, job.status), (0, [0] * 14, 0.0))
        if (
            job.started_at is not None
            and job.finished_at is not None
            and job.status in ("succeeded", "failed")
        ):
            run = (job.finished_at - job.started_at).total_seconds()
            index = next(
                (i for i, bound in enumerate(tallies.DURATION_BUCKETS) if run <= bound), 13
            )
            buckets = buckets.copy()
            buckets[index] += 1
            seconds += run
        out[(job.type, job.status)] = (n + 1, buckets, seconds)
    return out


def assert_tallies_match() -> None:
    assert tallies.counts_by_status_and_type() == counted_by_status_and_type()
    for since in (
        timezone.now() - timedelta(hours=1),
        timezone.now() - timedelta(minutes=7, seconds=13),
        (timezone.now() - timedelta(minutes=30)).replace(second=0, microsecond=0),
    ):
        tallied = {
            key: (entry.n, entry.buckets, round(entry.seconds, 3))
            for key, entry in tallies.finished_since(since).items()
        }
        counted = {
            key: (n, buckets, round(seconds, 3))
            for key, (n, buckets, seconds) in counted_finished_since(since).items()
        }
        assert tallied == counted
    # The dashboard's chart: the same per-minute counts as counting the table.
    chart = selectors.throughput()
    for minute in chart.minutes:
        end = minute.start + timedelta(minutes=1)
        window = Job.objects.filter(finished_at__gte=minute.start, finished_at__lt=end)
        assert minute.succeeded == window.filter(status="succeeded").count()
        assert minute.failed == window.filter(status="failed").count()


def test_tallies_follow_every_change_of_the_jobs_table():
    assert_tallies_match()
    enqueue_many("noop", [{"n": n} for n in range(25)])
    enqueue("test_fail", {"message": "no"}, max_attempts=2)
    enqueue("test_fail_permanently", {})
    waiting = enqueue("noop", {}, delay=3600)
    assert_tallies_match()

    WorkerProcess(concurrency=4, burst=True, listen=False).run()  # claims, successes, failures
    assert Job.objects.filter(status=Job.Status.FAILED).count() == 2
    assert_tallies_match()

    assert waiting.cancel()
    failed = Job.objects.filter(status=Job.Status.FAILED).first()
    assert failed.requeue()
    assert_tallies_match()

    # A job's run time spread over the histogram; one moved out of the last hour.
    now = timezone.now()
    succeeded = list(Job.objects.filter(status="succeeded")[:4])
    for seconds, job in zip((0.05, 3, 700, 5000), succeeded, strict=True):
        Job.objects.filter(pk=job.pk).update(
            started_at=now - timedelta(seconds=seconds), finished_at=now
        )
    old = Job.objects.filter(status="succeeded").last()
    Job.objects.filter(pk=old.pk).update(finished_at=now - timedelta(hours=3))
    Job.objects.filter(status="succeeded").exclude(pk=old.pk).first().delete()
    assert_tallies_match()

    assert prune_finished(older_than=timedelta(hours=2)) == 1
    Job.objects.filter(status="queued").update(progress=50)  # changes no key: no delta row
    assert_tallies_match()

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE jobs_jobattempt, jobs_job CASCADE")
    assert tallies.counts_by_status_and_type() == {}
    enqueue("noop", {})
    assert_tallies_match()


def test_a_statement_that_changes_no_status_writes_no_tally_row():
    enqueue_many("noop", [{}] * 5)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM jobs_jobtally")
        before = cursor.fetchone()[0]
        Job.objects.update(progress=10, current_step="halfway")
        cursor.execute("SELECT count(*) FROM jobs_jobtally")
        assert cursor.fetchone()[0] == before
