"""Periodic jobs: schedules declared in code and made by staff, fired by the workers.

Every worker runs :class:`Scheduler` in a thread; each pass enqueues the due schedules. A tick
makes exactly one job however many workers reach it together: the job is enqueued in the same
transaction as a ``ScheduleRun`` row, and the database's unique constraint on (schedule, tick)
lets one of them commit.

After downtime, the ticks missed are not replayed one by one: a schedule whose ``missed`` is
"once" (the default) runs once for the latest missed tick; one whose ``missed`` is "skip" runs
nothing until its next tick. A tick less than a minute late (``MISSED_GRACE``) is on time.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone

from jobs import conf, registry
from jobs.controls import MISSED_GRACE, Schedule, ScheduleRun
from jobs.exceptions import JobError
from jobs.models import Job
from jobs.outage import Outage, is_lost_connection
from jobs.services import enqueue

logger = logging.getLogger("jobs.schedules")

RETENTION = "jobs.retention"


def sync_code_schedules() -> None:
    """Make or update the rows of schedules declared in code; remove rows whose declaration is
    gone. Staff may turn a code schedule off: that choice is kept."""
    declared = {p.name: p for p in registry.periodic_schedules()}
    if retention := conf.retention_schedule():  # built in: pruning without an outside cron
        declared[RETENTION] = registry.Periodic(RETENTION, "prune_jobs", cron=retention)
    with transaction.atomic():
        Schedule.objects.filter(source=Schedule.Source.CODE).exclude(name__in=declared).delete()
        for name, p in declared.items():
            row = Schedule.objects.filter(name=name).first()
            fields = {
                "job_type": p.job_type,
                "payload": p.payload or {},
                "queue": p.queue,
                "cron": p.cron,
                "timezone": p.tz,
                "missed": p.missed,
                "source": Schedule.Source.CODE,
            }
            if row is None:
                try:
                    with transaction.atomic():  # a savepoint: the loser of a race goes on
                        Schedule(name=name, **fields).save()
                except IntegrityError:
                    pass  # another worker starting at the same moment made it, from this code
                continue
            changed = {k: v for k, v in fields.items() if getattr(row, k) != v}
            if changed:
                for key, value in changed.items():
                    setattr(row, key, value)
                if {"cron", "timezone"} & set(changed):
                    row.next_run_at = None
                row.save()


def fire(schedule: Schedule, *, tick: datetime, manual: bool = False) -> Job | None:
    """Enqueue the schedule's job for ``tick``, once: None if another worker did already."""
    try:
        with transaction.atomic():
            run = ScheduleRun.objects.create(schedule=schedule, tick=tick, manual=manual)
            job = enqueue(
                schedule.job_type,
                schedule.payload or {},
                queue=schedule.queue or None,
                unique_key=None,
            )
            run.job_id = job.pk
            run.save(update_fields=["job_id"])
            Schedule.objects.filter(pk=schedule.pk).update(last_run_at=tick, last_job_id=job.pk)
    except IntegrityError:
        return None
    schedule.last_run_at, schedule.last_job_id = tick, job.pk
    logger.info(
        "schedule=%s tick=%s job=%s event=enqueued", schedule.name, tick.isoformat(), job.pk
    )
    return job


def run_now(schedule: Schedule) -> Job | None:
    """'Run now' from the admin or the dashboard: one job at once, ticks unchanged."""
    return fire(schedule, tick=timezone.now(), manual=True)


def _advance(schedule: Schedule, *, due: datetime, now: datetime) -> bool:
    """Move the schedule's next run past ``now``; False when another worker moved it first."""
    following = schedule.next_tick(after=max(now, due))
    moved = Schedule.objects.filter(pk=schedule.pk, next_run_at=due).update(next_run_at=following)
    schedule.next_run_at = following
    return bool(moved)


def run_due(*, now: datetime | None = None) -> list[Job]:
    """Fire every enabled schedule whose next run has come. Returns the jobs made."""
    now = now or timezone.now()
    made = []
    for schedule in Schedule.objects.filter(enabled=True, next_run_at__lte=now).order_by(
        "next_run_at"
    ):
        due = schedule.next_run_at
        assert due is not None
        tick: datetime | None = due
        if now - due > MISSED_GRACE:
            latest = schedule.latest_tick(at=now, since=due)
            on_time = now - latest <= MISSED_GRACE
            tick = latest if schedule.missed == Schedule.Missed.RUN_ONCE or on_time else None
            if tick is None:
                logger.info("schedule=%s event=skipped missed ticks since %s", schedule.name, due)
        try:
            job = fire(schedule, tick=tick) if tick else None
        except (JobError, ValueError) as exc:
            logger.error("schedule=%s event=failed to enqueue error=%s", schedule.name, exc)
            job = None
        _advance(schedule, due=due, now=now)
        if job:
            made.append(job)
    return made


class Scheduler:
    """A worker's scheduler thread: a pass every ``interval`` seconds."""

    def __init__(self, *, interval: float = 1.0, outage: Outage | None = None) -> None:
        self.interval = interval
        self.outage = outage  # the worker's: a lost database is logged once, not per pass
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _failed(self, doing: str, exc: Exception) -> None:
        if self.outage is not None and is_lost_connection(exc):
            self.outage.lost(doing, exc)
        else:
            logger.exception("scheduler: %s failed; trying again", doing)

    def _sync(self) -> bool:
        try:
            sync_code_schedules()
        except Exception as exc:
            self._failed("syncing the schedules declared in code", exc)
            connection.close()
            return False
        return True

    def _run(self) -> None:
        synced = self._sync()
        while not self._stop.wait(self.interval):
            try:
                close_old_connections()
                synced = synced or self._sync()  # a worker started during an outage syncs later
                run_due()
            except Exception as exc:
                self._failed("running periodic jobs", exc)
                connection.close()
        connection.close()
