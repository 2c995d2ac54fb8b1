"""Queues that staff steer: pause and resume, global concurrency and rate limits, holds.

How a worker claims with them (``Worker._fill_slots``):

- It keeps a snapshot of the queue records that restrict anything (:class:`Controls`), read
  at most once a second, and at once when a NOTIFY on ``jobs_controls`` says one changed
  (PostgreSQL). With no such record the claim is exactly the claim of before: one statement.
- Paused and held queues are left out of the claim. Unlimited queues are claimed with the usual
  statement (a worker on every queue adds ``queue <> ALL(…)`` for the restricted ones).
- Each limited queue is claimed apart (:func:`claim_limited`): in one transaction that locks the
  queue's row, count its running jobs and its starts in the rate window, and claim at most what
  is free. Every worker takes the same row lock, so the limits hold across processes and
  machines; on SQLite ``BEGIN IMMEDIATE`` serialises the transaction anyway.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from jobs.controls import Queue
from jobs.exceptions import QueueHeld
from jobs.models import Job

logger = logging.getLogger("jobs.worker")

CONTROL_CHANNEL = "jobs_controls"
SNAPSHOT_MAX_AGE = 1.0  # seconds: a pause reaches a worker without NOTIFY within this
NAME_RE = re.compile(r"^[\w.:-]{1,100}$")
PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


# --- changes (staff, programs, handlers) ------------------------------------------------------


def check_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        shown = repr(name[:100])
        raise ValueError(
            f"{shown} is not a queue name: use 1 to 100 letters, digits, '_', '-', '.' or ':'."
        )
    return name


def parse_rate(text: str) -> tuple[int, float]:
    """``"30/minute"``, ``"5/2s"``, ``"100/h"`` → (starts, period in seconds)."""
    match = re.fullmatch(r"\s*(\d{1,9})\s*/\s*(\d*(?:\.\d+)?)\s*([a-z]*)\s*", text.lower())
    unit = match[3] if match else ""
    if not match or unit not in PERIODS or (not match[2] and not unit):
        raise ValueError(
            f"{text[:50]!r} is not a rate: write starts/period, e.g. 30/minute, 5/2s or 100/h."
        )
    starts, period = int(match[1]), float(match[2] or 1) * PERIODS[unit or "s"]
    if starts < 1 or not 0.1 <= period <= 86400:
        raise ValueError("A rate needs at least 1 start per period of 0.1 s to one day.")
    return starts, period


def queue_record(name: str, *, lock: bool = False) -> Queue:
    """The queue's record, made on first use."""
    check_name(name)
    record, _ = Queue.objects.get_or_create(name=name)
    if lock:
        record = Queue.objects.select_for_update().get(pk=record.pk)
    return record


def _changed(record: Queue, **fields: Any) -> Queue:
    for field, value in fields.items():
        setattr(record, field, value)
    record.save(update_fields=[*fields, "updated_at"])
    notify(record.name)
    return record


def notify(name: str) -> None:
    """Tell every worker at commit that a queue's controls changed (PostgreSQL); elsewhere
    workers see it at their next snapshot, within a second."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CONTROL_CHANNEL, name])


@transaction.atomic
def queue_pause(*, name: str, by: str = "", reason: str = "") -> Queue:
    record = queue_record(name, lock=True)
    return _changed(
        record, paused=True, paused_at=timezone.now(), paused_by=by[:150], pause_reason=reason[:500]
    )


@transaction.atomic
def queue_resume(*, name: str) -> Queue:
    record = queue_record(name, lock=True)
    return _changed(record, paused=False, paused_at=None, paused_by="", pause_reason="")


@transaction.atomic
def queue_set_limits(
    *, name: str, concurrency: int | None, rate: int | None = None, period: float | None = None
) -> Queue:
    """Set (or with None clear) the global concurrency limit and the rate limit."""
    if concurrency is not None and concurrency < 1:
        raise ValueError("A concurrency limit is at least 1 (clear it to remove the limit).")
    if (rate is None) != (period is None):
        raise ValueError("A rate limit needs both a number of starts and a period.")
    if rate is not None and (rate < 1 or period is None or not 0.1 <= period <= 86400):
        raise ValueError("A rate needs at least 1 start per period of 0.1 s to one day.")
    record = queue_record(name, lock=True)
    return _changed(
        record, concurrency_limit=concurrency, rate_limit=rate, rate_period=period, recent_starts=[]
    )


@transaction.atomic
def queue_hold(*, name: str, seconds: float, reason: str) -> Queue:
    """Hold the queue on every worker until ``seconds`` from now (a later hold wins)."""
    record = queue_record(name, lock=True)
    until = timezone.now() + timedelta(seconds=seconds)
    if record.held_until and record.held_until > until:
        return record
    return _changed(record, held_until=until, hold_reason=reason[:500])


@transaction.atomic
def queue_release_hold(*, name: str) -> Queue:
    record = queue_record(name, lock=True)
    return _changed(record, held_until=None, hold_reason="")


def hold_for_job(job: Job, held: QueueHeld) -> bool:
    """A handler raised :class:`QueueHeld`: hold its queue and put the job back, its attempt
    not counted, due when the hold ends. False when the job was no longer this worker's."""
    with transaction.atomic():
        record = queue_hold(name=job.queue, seconds=held.seconds, reason=held.reason)
        return job.release(
            reason=f"Queue held until {record.held_until:%H:%M:%S}: {held.reason}"[:500],
            run_at=record.held_until,
        )


# --- the workers' side ---------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimPlan:
    """Which queues a worker claims how, for one pass of its loop."""

    queues: list[str]  # the usual claim: these queues ([]: every queue)…
    exclude: list[str]  # …except these (a worker on every queue)
    open: bool  # False: the usual claim has nothing to take
    limited: list[str]  # claimed one by one through claim_limited()


@dataclass(frozen=True)
class _Restriction:
    paused: bool
    held_until: datetime | None
    limited: bool


class Controls:
    """A worker's snapshot of the queue records that restrict claims."""

    def __init__(self, max_age: float = SNAPSHOT_MAX_AGE) -> None:
        self.max_age = max_age
        self._loaded_at = -math.inf
        self._rows: dict[str, _Restriction] = {}

    def invalidate(self) -> None:
        self._loaded_at = -math.inf

    def refresh(self) -> None:
        if time.monotonic() - self._loaded_at < self.max_age:
            return
        rows = Queue.objects.filter(
            Q(paused=True)
            | Q(concurrency_limit__isnull=False)
            | Q(rate_limit__isnull=False)
            | Q(held_until__isnull=False)
        ).values_list("name", "paused", "held_until", "concurrency_limit", "rate_limit")
        self._rows = {
            name: _Restriction(paused, held, concurrency is not None or rate is not None)
            for name, paused, held, concurrency, rate in rows
        }
        self._loaded_at = time.monotonic()

    def plan(self, worker_queues: list[str], *, now: datetime | None = None) -> ClaimPlan:
        if not self._rows:
            return ClaimPlan(queues=worker_queues, exclude=[], open=True, limited=[])
        now = now or timezone.now()
        blocked = {
            name
            for name, row in self._rows.items()
            if row.paused or (row.held_until is not None and row.held_until > now)
        }
        limited = sorted(name for name, row in self._rows.items() if row.limited)
        limited = [name for name in limited if name not in blocked]
        if worker_queues:
            free = [q for q in worker_queues if q not in blocked and q not in limited]
            mine = [q for q in limited if q in worker_queues]
            return ClaimPlan(queues=free, exclude=[], open=bool(free), limited=mine)
        return ClaimPlan(
            queues=[], exclude=sorted(blocked | set(limited)), open=True, limited=limited
        )

    def blocked(self, name: str, *, now: datetime | None = None) -> bool:
        row = self._rows.get(name)
        now = now or timezone.now()
        return bool(row and (row.paused or (row.held_until and row.held_until > now)))


def claim_limited(*, worker_id: str, queue: str, limit: int) -> list[Job]:
    """Claim at most ``limit`` jobs of a limited queue, and no more than its limits leave free,
    in one transaction that holds the queue's row lock."""
    if limit <= 0:
        return []
    with transaction.atomic():
        record = Queue.objects.select_for_update().filter(name=queue).first()
        if record is None or record.paused:
            return []
        running = 0
        if record.concurrency_limit is not None:
            running = Job.objects.filter(queue=queue, status=Job.Status.RUNNING).count()
        # The time is read once the lock is ours and the running jobs are counted: the jobs
        # started now begin after every job the count saw ended (whose end time was read
        # before its success was committed), so no two of their attempts seem to overlap.
        now = timezone.now()
        if record.held(now):
            return []
        free = limit
        if record.concurrency_limit is not None:
            free = min(free, record.concurrency_limit - running)
        starts: list[str] = []
        if record.rate_limit is not None and record.rate_period:
            window_start = now - timedelta(seconds=record.rate_period)
            starts = [s for s in record.recent_starts if datetime.fromisoformat(s) > window_start]
            free = min(free, record.rate_limit - len(starts))
        if free <= 0:
            return []
        jobs = Job.objects.claim(worker_id=worker_id, limit=free, queues=[queue], now=now)
        if jobs and record.rate_limit is not None:
            starts += [now.isoformat()] * len(jobs)
            Queue.objects.filter(pk=record.pk).update(recent_starts=starts)
        return jobs


def claim_limited_queues(*, worker_id: str, queues: Iterable[str], limit: int) -> list[Job]:
    claimed: list[Job] = []
    for queue in queues:
        if len(claimed) >= limit:
            break
        claimed += claim_limited(worker_id=worker_id, queue=queue, limit=limit - len(claimed))
    return claimed
