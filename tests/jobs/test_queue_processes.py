"""Pauses, limits and schedules across real worker processes on PostgreSQL: the limits are
proven from the attempts' start and finish times."""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs import queues as controls
from jobs.controls import Schedule, ScheduleRun
from jobs.models import Job, JobAttempt
from jobs.models import Worker as WorkerRow
from jobs.services import enqueue, enqueue_many
from tests.conftest import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FAST = ["--poll-interval", "0.1"]


def start_workers(start_worker, count: int, concurrency: int, *extra: str) -> list:
    names = [f"w{n}-{timezone.now().timestamp():.0f}" for n in range(count)]
    workers = [
        start_worker("--worker-id", name, "--concurrency", str(concurrency), *FAST, *extra)
        for name in names
    ]

    def registered() -> bool:
        """every worker wrote its row"""
        return WorkerRow.objects.filter(pk__in=names).count() == count

    wait_for(registered, timeout=60)
    return workers


def all_done(ids: list[int], timeout: float = 120) -> None:
    def done() -> bool:
        """every job succeeded"""
        return Job.objects.filter(pk__in=ids, status=Job.Status.SUCCEEDED).count() == len(ids)

    wait_for(done, timeout=timeout)


def stop(workers) -> None:
    for worker in workers:
        worker.signal(signal.SIGTERM)
    for worker in workers:
        assert worker.wait(30) == 0, worker.output()[-3000:]


def most_at_once(ids: list[int]) -> int:
    """The largest number of attempts of these jobs that were running at one moment."""
    events = []
    for started, finished in JobAttempt.objects.filter(job_id__in=ids).values_list(
        "started_at", "finished_at"
    ):
        events += [(started, 1), (finished, -1)]
    running = peak = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):  # an end before a start
        running += step
        peak = max(peak, running)
    return peak


def test_a_global_concurrency_limit_holds_across_four_workers(postgres_only, start_worker):
    controls.queue_set_limits(name="video", concurrency=2)
    ids = [j.pk for j in enqueue_many("sleep", [{"seconds": 0.2}] * 24, queue="video")]
    others = [j.pk for j in enqueue_many("noop", [{}] * 50, queue="default")]
    workers = start_workers(start_worker, 4, 8)
    all_done(others)
    all_done(ids)
    stop(workers)
    # Four workers of eight slots each: a limit per worker would have let up to 32 run at once.
    # (Which workers took the jobs is up to the race: one may take them all.)
    assert most_at_once(ids) == 2


def test_a_rate_limit_holds_in_every_window(postgres_only, start_worker):
    controls.queue_set_limits(name="api", concurrency=None, rate=5, period=2.0)
    ids = [j.pk for j in enqueue_many("noop", [{}] * 15, queue="api")]
    workers = start_workers(start_worker, 3, 4)
    all_done(ids, timeout=60)
    stop(workers)
    starts = sorted(JobAttempt.objects.filter(job_id__in=ids).values_list("started_at", flat=True))
    window = timedelta(seconds=2)
    for index, start in enumerate(starts):
        in_window = [s for s in starts[index:] if s - start < window]
        assert len(in_window) <= 5, (start, in_window)
    assert starts[-1] - starts[0] >= timedelta(seconds=4)  # 15 starts need three windows


def test_pausing_stops_every_worker_and_resuming_wakes_them(postgres_only, start_worker):
    workers = start_workers(start_worker, 3, 2, "--poll-interval", "30")  # NOTIFY only
    controls.queue_pause(name="ai", by="test", reason="provider down")
    held = [j.pk for j in enqueue_many("noop", [{}] * 6, queue="ai")]
    # Workers that polled in between: a job of another queue enqueued after the pause ran.
    marker = enqueue("noop", {}, queue="default")
    all_done([marker.pk], timeout=30)
    assert Job.objects.filter(pk__in=held, status=Job.Status.QUEUED).count() == 6
    controls.queue_resume(name="ai")
    all_done(held, timeout=10)  # woken by NOTIFY, not by the 30 s poll
    stop(workers)


def test_a_schedule_tick_makes_one_job_however_many_workers(postgres_only, start_worker):
    schedule = Schedule(name="nightly", job_type="noop", cron="* * * * *", payload={"n": 1})
    schedule.save()
    Schedule.objects.filter(pk=schedule.pk).update(
        next_run_at=timezone.now() + timedelta(seconds=1)
    )
    workers = start_workers(start_worker, 4, 2, "--poll-interval", "0.1")

    def ran() -> bool:
        """the tick made its job and it ran"""
        return Job.objects.filter(type="noop", payload={"n": 1}, status="succeeded").exists()

    wait_for(ran, timeout=30)
    schedule.refresh_from_db()
    stop(workers)
    assert ScheduleRun.objects.filter(schedule=schedule).count() == 1
    assert Job.objects.filter(type="noop", payload={"n": 1}).count() == 1
    assert schedule.next_run_at > timezone.now() - timedelta(seconds=60)
