"""Bulk actions by filter: retry every failed job, cancel every queued one, delete finished ones.

Each works through the matching jobs a batch at a time in the database (keyset by id, one
transaction per batch, ids only in Python), so 100,000 jobs never sit in memory and no lock is
held for long. The hooks hear each batch inside its transaction, as for one job: ``requeued``
(credits charge again; a refusal falls back to one job at a time and skips those refused),
``cancelled`` (credits refund).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from jobs import hooks
from jobs.exceptions import EnqueueRefused
from jobs.models import Job

logger = logging.getLogger("jobs.bulk")

BATCH_SIZE = 1000
RETRYABLE = (Job.Status.FAILED, Job.Status.CANCELLED)
DEPENDENCY_REASON_PREFIX = "Dependency #"


@dataclass(frozen=True)
class JobFilter:
    """The filter staff chose (the admin's job list, the dashboard's bulk page)."""

    queue: str = ""
    type: str = ""
    status: str = ""
    error: str = ""  # words in the error text
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before

    def queryset(self) -> QuerySet[Job]:
        jobs = Job.objects.all()
        if self.queue:
            jobs = jobs.filter(queue=self.queue)
        if self.type:
            jobs = jobs.filter(type=self.type)
        if self.status:
            jobs = jobs.filter(status=self.status)
        if self.error:
            jobs = jobs.filter(error__icontains=self.error)
        if self.since:
            jobs = jobs.filter(created_at__gte=self.since)
        if self.until:
            jobs = jobs.filter(created_at__lt=self.until)
        return jobs.order_by()

    def describe(self) -> str:
        parts = [
            f"{key}={value:%Y-%m-%d %H:%M}" if isinstance(value, datetime) else f"{key}={value!r}"
            for key, value in asdict(self).items()
            if value
        ]
        return ", ".join(parts) or "all jobs"


def retryable(f: JobFilter) -> QuerySet[Job]:
    return f.queryset().filter(status__in=RETRYABLE)


def cancellable(f: JobFilter) -> QuerySet[Job]:
    return f.queryset().filter(status=Job.Status.QUEUED)


def deletable(f: JobFilter) -> QuerySet[Job]:
    return f.queryset().filter(status__in=Job.FINISHED_STATUSES)


def counts(f: JobFilter) -> dict[str, int]:
    """What each action would touch now (shown before staff confirm)."""
    return {
        "retry": retryable(f).count(),
        "cancel": cancellable(f).count(),
        "delete": deletable(f).count(),
    }


def _batches(queryset: QuerySet[Job], *, batch_size: int, lock: bool = True, skip: bool = False):
    """Yield lists of ids, a batch per transaction (the caller works inside it)."""
    last = 0
    while True:
        with transaction.atomic():
            page = queryset.filter(pk__gt=last).order_by("pk")
            if lock:
                page = page.select_for_update(skip_locked=skip)
            ids = list(page.values_list("pk", flat=True)[:batch_size])
            if not ids:
                return
            last = ids[-1]
            yield ids


REQUEUE_FIELDS: dict[str, Any] = {
    "status": Job.Status.QUEUED,
    "attempts": 0,
    "finished_at": None,
    "started_at": None,
    "error": "",
    "traceback": "",
    "cancel_requested": False,
    "progress": 0,
    "current_step": "",
}


def bulk_retry(f: JobFilter, *, batch_size: int = BATCH_SIZE) -> tuple[int, int]:
    """Requeue every failed or cancelled job the filter matches (and the jobs cancelled
    because one of them did not succeed). Returns (requeued, refused by a hook)."""
    requeued = refused = 0
    for ids in _batches(retryable(f), batch_size=batch_size):
        try:
            with transaction.atomic():
                requeued += _requeue_batch(ids)
        except EnqueueRefused:
            # Someone cannot pay for all of them: one at a time, keeping those allowed.
            for job in Job.objects.filter(pk__in=ids, status__in=RETRYABLE):
                try:
                    requeued += int(job.requeue())
                except EnqueueRefused:
                    refused += 1
    return requeued, refused


def _requeue_batch(ids: list[int]) -> int:
    now = timezone.now()
    dependents = list(
        Job.objects.filter(
            depends_on_id__in=ids,
            status=Job.Status.CANCELLED,
            error__startswith=DEPENDENCY_REASON_PREFIX,
        )
        .exclude(pk__in=ids)
        .values_list("pk", flat=True)
    )
    touched = ids + dependents
    done = Job.objects.filter(pk__in=touched, status__in=RETRYABLE).update(
        run_at=now, **REQUEUE_FIELDS
    )
    if hooks.requeued.has_receivers:
        hooks.requeued.send(list(Job.objects.filter(pk__in=touched)))
    return done


def bulk_cancel(f: JobFilter, *, reason: str, batch_size: int = BATCH_SIZE) -> int:
    """Cancel every queued job the filter matches (and the jobs waiting on them)."""
    cancelled = 0
    for ids in _batches(cancellable(f), batch_size=batch_size, skip=True):
        now = timezone.now()
        cancelled += Job.objects.filter(pk__in=ids, status=Job.Status.QUEUED).update(
            status=Job.Status.CANCELLED, error=reason[:2000], finished_at=now
        )
        if hooks.cancelled.has_receivers:
            hooks.cancelled.send(list(Job.objects.filter(pk__in=ids)))
        for job in Job.objects.filter(depends_on_id__in=ids, status=Job.Status.QUEUED):
            job.cancel(reason=f"{DEPENDENCY_REASON_PREFIX}{job.depends_on_id} did not succeed")
    return cancelled


def bulk_delete(f: JobFilter, *, batch_size: int = BATCH_SIZE) -> int:
    """Delete the finished jobs the filter matches; jobs that live jobs depend on are kept."""
    deleted = 0
    keep_needed = deletable(f).exclude(dependents__status__in=Job.LIVE_STATUSES)
    for ids in _batches(keep_needed, batch_size=batch_size, lock=False):
        Job.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted


def record(user: Any, *, action: str, count: int, f: JobFilter, extra: str = "") -> LogEntry:
    """One line in the admin's log: who did what to how many jobs, by which filter."""
    text = f"Bulk {action}: {count} job(s) ({f.describe()}){extra}"
    return LogEntry.objects.create(
        user_id=user.pk,
        content_type_id=ContentType.objects.get_for_model(Job).pk,
        object_id=None,
        object_repr=text[:200],
        action_flag=DELETION if action == "delete" else CHANGE,
        change_message=text,
    )


def run(user: Any, *, action: str, f: JobFilter) -> tuple[int, str]:
    """Do ``action`` ("retry", "cancel", "delete") and record it. Returns (count, message)."""
    if action == "retry":
        count, refused = bulk_retry(f)
        extra = f"; {refused} refused (e.g. not enough credits)" if refused else ""
        message = f"Requeued {count} job(s){extra}."
    elif action == "cancel":
        count = bulk_cancel(f, reason=f"Cancelled in bulk by {user}")
        extra, message = "", f"Cancelled {count} queued job(s)."
    elif action == "delete":
        count = bulk_delete(f)
        extra, message = "", f"Deleted {count} finished job(s)."
    else:
        raise ValueError(f"Unknown bulk action {action!r}.")
    record(user, action=action, count=count, f=f, extra=extra)
    logger.info("bulk action=%s count=%s by=%s filter=%s", action, count, user, f.describe())
    return count, message
