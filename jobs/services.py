"""Putting work in the queue: ``enqueue`` and ``enqueue_many``.

Both write inside the caller's transaction: a job exists only if the caller's transaction
commits, and on PostgreSQL idle workers are woken by a NOTIFY that is delivered at that commit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from jobs import conf, fastpath, hooks, registry
from jobs.exceptions import InvalidPayload
from jobs.models import Job

NOTIFY_CHANNEL = "jobs_queued"
# Priorities are stored in a 32-bit integer column.
PRIORITY_MIN, PRIORITY_MAX = -(2**31), 2**31 - 1
MAX_PAYLOAD_DEPTH = 100


def enqueue(
    type: str,
    payload: dict[str, Any] | None = None,
    *,
    queue: str | None = None,
    priority: int = 0,
    run_at: datetime | None = None,
    delay: float | timedelta | None = None,
    unique_key: str | None = None,
    owner: Any = None,
    depends_on: Job | None = None,
    max_attempts: int | None = None,
    timeout: float | None = None,
) -> Job:
    """Add one job. With a ``unique_key`` that a queued or running job holds in the same scope,
    return that job. A user's keys are their own (scoped by owner); jobs without an owner or
    owned by staff share one global scope (:func:`unique_scope`).

    The :data:`~jobs.hooks.enqueued` hook hears the new job in the same transaction; a receiver
    that refuses (:class:`~jobs.exceptions.EnqueueRefused`) leaves nothing enqueued and the
    caller's transaction usable.
    """
    job = _build(
        type,
        payload,
        queue=queue,
        priority=priority,
        run_at=run_at,
        delay=delay,
        unique_key=unique_key,
        owner=owner,
        depends_on=depends_on,
        max_attempts=max_attempts,
        timeout=timeout,
    )
    # Inside a caller's transaction a savepoint costs two round trips, so only a job that a
    # receiver may refuse after its insert takes one: the refusal then leaves the caller's
    # transaction usable.
    with transaction.atomic(savepoint=hooks.enqueued.wants(type)):
        if unique_key:
            holders = Job.objects.live().filter(
                unique_scope=job.unique_scope, unique_key=unique_key
            )
            existing = holders.first()
            if existing:
                return existing
            try:
                with transaction.atomic():
                    job.save(force_insert=True)
            except IntegrityError:
                return holders.get()
        elif fastpath.available():
            fastpath.insert_job(job)
        else:
            job.save(force_insert=True)
        hooks.enqueued.send([job])
        if depends_on is not None and depends_on.status in (
            Job.Status.FAILED,
            Job.Status.CANCELLED,
        ):
            job.cancel(reason=f"Dependency #{depends_on.pk} ({depends_on.type}) did not succeed")
    return job


def enqueue_many(type: str, payloads: Iterable[dict[str, Any]], **options: Any) -> list[Job]:
    """Add many jobs of one type in a few statements. Takes the options of :func:`enqueue`
    except ``unique_key`` and ``depends_on``."""
    if {"unique_key", "depends_on"} & options.keys():
        raise ValueError("enqueue_many takes neither unique_key nor depends_on; use enqueue.")
    payloads = list(payloads)
    if fastpath.available() and payloads:
        # The options are the same for every job: validated once, with the first payload.
        template = _build(type, payloads[0], **options)
        job_type = registry.get(type)
        limit = conf.max_payload_bytes()
        cleaned = [template.payload]
        texts: list[str | None] = [None]
        for payload in payloads[1:]:
            payload = {} if payload is None else payload
            text = _payload_json(payload, limit)
            cleaned.append(job_type.clean(payload))
            # The JSON the check made is the row's, unless a validator may have changed the
            # payload (even in place).
            texts.append(None if job_type.validate else text)
        with transaction.atomic():
            created = fastpath.insert_jobs(template, cleaned, texts)
            hooks.enqueued.send(created)
        return created
    jobs = [_build(type, payload, **options) for payload in payloads]
    with transaction.atomic():
        created = Job.objects.bulk_create(jobs, batch_size=1000)
        hooks.enqueued.send(created)
    return created


def unique_scope(owner: Any) -> int:
    """The scope of an owner's unique keys: 0 (global) for no owner and for staff, else the
    owner's id."""
    if owner is None or getattr(owner, "is_staff", False):
        return 0
    return int(owner.pk)


def notify_queued(queues: set[str]) -> None:
    """Wake idle workers at commit (PostgreSQL LISTEN/NOTIFY; other databases poll).

    Inserted jobs need no call: on PostgreSQL a trigger on the jobs table sends this NOTIFY
    (migration 0006). Call it after putting existing jobs back in the queue with an update."""
    if connection.vendor != "postgresql" or not queues:
        return
    with connection.cursor() as cursor:
        for queue in sorted(queues):
            cursor.execute("SELECT pg_notify(%s, %s)", [NOTIFY_CHANNEL, queue])


def _build(
    type_: str,
    payload: dict[str, Any] | None,
    *,
    queue: str | None = None,
    priority: int = 0,
    run_at: datetime | None = None,
    delay: float | timedelta | None = None,
    unique_key: str | None = None,
    owner: Any = None,
    depends_on: Job | None = None,
    max_attempts: int | None = None,
    timeout: float | None = None,
) -> Job:
    """Validate everything about one job before anything is written."""
    job_type = registry.get(type_)
    payload = job_type.clean(_checked_payload({} if payload is None else payload))
    if run_at is not None and delay is not None:
        raise ValueError("Give run_at or delay, not both.")
    if delay is not None:
        seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
        if math.isnan(seconds):
            raise ValueError("delay must be a number of seconds.")
        if seconds < 0:
            raise ValueError("delay cannot be negative.")
        try:
            run_at = timezone.now() + timedelta(seconds=seconds)
        except OverflowError:
            raise ValueError(f"delay of {seconds:g} seconds is too far in the future.") from None
    if run_at is not None and timezone.is_naive(run_at):
        raise ValueError("run_at must be timezone-aware.")
    max_attempts = max_attempts or job_type.max_attempts or conf.default_max_attempts()
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1.")
    timeout = timeout or job_type.timeout or conf.default_timeout()
    if timeout <= 0:
        raise ValueError("timeout must be positive.")
    queue = queue or job_type.queue
    if not queue or len(queue) > 100:
        raise ValueError("queue must be a name of 1 to 100 characters.")
    _check_text("queue", queue)
    if unique_key is not None:
        if not (0 < len(unique_key) <= 200):
            raise ValueError("unique_key must be 1 to 200 characters.")
        _check_text("unique_key", unique_key)
    priority = int(priority)
    if not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        raise ValueError(f"priority must be between {PRIORITY_MIN} and {PRIORITY_MAX}.")
    return Job(
        type=type_,
        queue=queue,
        priority=priority,
        payload=payload,
        run_at=run_at or timezone.now(),
        unique_key=unique_key,
        unique_scope=unique_scope(owner) if unique_key else 0,
        owner=owner,
        depends_on=depends_on,
        max_attempts=max_attempts,
        timeout=timeout,
    )


def _check_text(name: str, value: str) -> None:
    """Refuse text that PostgreSQL cannot store: NUL characters and lone surrogates (what
    undecodable bytes become in Python). SQLite would store them, so check on every database."""
    if "\x00" in value:
        raise ValueError(f"{name} contains a NUL character.")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError(f"{name} is not valid Unicode text (undecodable bytes?).") from None


def check_storable_json(value: Any, *, what: str = "The payload") -> None:
    """Walk JSON data (without recursion): no text a database refuses, no absurd nesting.
    Raises :class:`InvalidPayload` naming ``what``."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_PAYLOAD_DEPTH:
            raise InvalidPayload(
                f"{what} is nested too deeply (more than {MAX_PAYLOAD_DEPTH} levels)."
            )
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str):
                    _check_json_text(what, key)
                stack.append((item, depth + 1))
        elif isinstance(value, list | tuple):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            _check_json_text(what, value)


def _check_json_text(what: str, value: str) -> None:
    try:
        _check_text(what, value)
    except ValueError as exc:
        raise InvalidPayload(str(exc)) from None


def _checked_payload(payload: Any) -> dict[str, Any]:
    _payload_json(payload, conf.max_payload_bytes())
    return payload


def _payload_json(payload: Any, limit: int) -> str:
    """Check a payload (a JSON object a database can store, within ``limit`` bytes); return
    its JSON text, ASCII only (each character one byte)."""
    if not isinstance(payload, dict):
        raise InvalidPayload(f"The payload must be a JSON object, not {_json_kind(payload)}.")
    check_storable_json(payload)
    try:
        text = json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidPayload(f"The payload is not valid JSON: {exc}.") from None
    if len(text) > limit:
        raise InvalidPayload(f"The payload is {len(text):,} bytes; the limit is {limit:,} bytes.")
    return text


def _json_kind(value: Any) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number" if isinstance(value, int | float) else "that")


def prune_finished(*, older_than: timedelta, batch_size: int = 1000) -> int:
    """Delete finished jobs that ended before ``older_than`` ago, a batch per transaction,
    so a large prune never holds long locks. Jobs that live jobs depend on are kept."""
    cutoff = timezone.now() - older_than
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                Job.objects.finished()
                .filter(finished_at__lt=cutoff)
                .exclude(dependents__status__in=Job.LIVE_STATUSES)
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return deleted
            Job.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
