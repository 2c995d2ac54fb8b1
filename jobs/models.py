"""The job queue's tables: jobs, the history of their attempts, and the workers that run them.

State transitions live here, on the model and its QuerySet. Every write a worker makes to a job
it holds is *fenced*: it names the worker and the attempt number, so a worker that comes back
after its lease expired (frozen, partitioned) changes nothing of a job that is no longer its own.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from jobs import conf, fastpath, hooks


def storable_text(text: str) -> str:
    """``text`` with what no database column can hold (NUL characters, lone surrogates from
    undecodable bytes) written as visible escapes, so an error message is never lost."""
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode()


def _atomic_if(needed: bool) -> AbstractContextManager[Any]:
    """A transaction for hooks to be sent in, only when someone listens: a job type nobody
    listens for keeps the worker's one-statement fast path."""
    return transaction.atomic() if needed else nullcontext()


def _mirror_successes(outcomes: list[tuple[Job, Any]], held: set[int], now: datetime) -> None:
    """Mirror a fast-path success on the instances and tell the hook (inside the caller's
    transaction when anyone listens)."""
    done = []
    for job, result in outcomes:
        if job.pk in held:
            job._succeeded(result, now)
            done.append(job)
    hooks.succeeded.send(done)


class JobQuerySet(models.QuerySet["Job"]):
    def ready(
        self,
        *,
        queues: Iterable[str] | None = None,
        now: datetime | None = None,
        exclude_queues: Iterable[str] = (),
    ):
        """Jobs a worker may start now: queued, due, and with no unfinished dependency."""
        # A correlated subquery rather than a join, so the claim walks the partial index in its
        # order and stops at LIMIT (looking a dependency up by primary key only for the rows
        # that have one) instead of joining and sorting every queued job.
        dependency_status = Job.objects.filter(pk=OuterRef("depends_on_id")).values("status")[:1]
        qs = (
            self.filter(status=Job.Status.QUEUED, run_at__lte=now or timezone.now())
            .alias(dependency_status=Subquery(dependency_status))
            .filter(Q(depends_on__isnull=True) | Q(dependency_status=Job.Status.SUCCEEDED))
        )
        if queues:
            qs = qs.filter(queue__in=list(queues))
        if exclude_queues:
            qs = qs.exclude(queue__in=list(exclude_queues))
        return qs.order_by("-priority", "run_at", "id")

    def live(self):
        return self.filter(status__in=Job.LIVE_STATUSES)

    def finished(self):
        return self.filter(status__in=Job.FINISHED_STATUSES)

    def stuck(self, *, now: datetime | None = None):
        """Running jobs whose worker stopped renewing the lease."""
        return self.filter(status=Job.Status.RUNNING, lease_expires_at__lt=now or timezone.now())

    def claim(
        self,
        *,
        worker_id: str,
        limit: int,
        queues: Iterable[str] | None = None,
        exclude_queues: Iterable[str] = (),
        now: datetime | None = None,
    ):
        """Take up to ``limit`` ready jobs for ``worker_id`` in one short transaction.

        PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` so concurrent workers take disjoint
        sets without waiting on each other. SQLite: the settings open every transaction with
        ``BEGIN IMMEDIATE``, which serialises claims across processes. On PostgreSQL the same
        claim runs as one prepared statement (``jobs/fastpath.py``).
        """
        if limit <= 0:
            return []
        now = now or timezone.now()
        lease_until = now + timedelta(seconds=conf.lease_seconds())
        if fastpath.available() and not self.query.has_filters():
            with _atomic_if(hooks.started.has_receivers):
                jobs = fastpath.claim(
                    worker_id=worker_id,
                    limit=limit,
                    queues=queues,
                    exclude_queues=exclude_queues,
                    now=now,
                    lease_until=lease_until,
                )
                hooks.started.send(jobs)
            return jobs
        with transaction.atomic():
            jobs = list(
                self.ready(queues=queues, now=now, exclude_queues=exclude_queues).select_for_update(
                    skip_locked=True, of=("self",)
                )[:limit]
            )
            if not jobs:
                return []
            ids = [job.pk for job in jobs]
            Job.objects.filter(pk__in=ids).update(
                status=Job.Status.RUNNING,
                worker_id=worker_id,
                lease_expires_at=lease_until,
                started_at=now,
                attempts=F("attempts") + 1,
                cancel_requested=False,
                held_reason="",
            )
            for job in jobs:
                job.status = Job.Status.RUNNING
                job.worker_id = worker_id
                job.lease_expires_at = lease_until
                job.started_at = now
                job.attempts += 1
                job.held_reason = ""
            JobAttempt.objects.bulk_create(
                JobAttempt(job=job, number=job.attempts, worker_id=worker_id, started_at=now)
                for job in jobs
            )
            hooks.started.send(jobs)
        return jobs

    def mark_succeeded_many(self, outcomes: Iterable[tuple[Job, Any]]) -> set[int]:
        """``job.mark_succeeded(result)`` for each ``(job, result)``, in one statement on
        PostgreSQL. Returns the ids of the jobs their attempt still held (and so marked)."""
        outcomes = list(outcomes)
        now = timezone.now()
        if fastpath.available():
            with _atomic_if(hooks.succeeded.wants_any(job.type for job, _ in outcomes)):
                held = fastpath.succeed_many(outcomes, now=now)
                _mirror_successes(outcomes, held, now)
            return held
        return {job.pk for job, result in outcomes if job.mark_succeeded(result)}

    def succeed_and_claim(
        self,
        outcomes: Iterable[tuple[Job, Any]],
        *,
        worker_id: str,
        limit: int,
        queues: Iterable[str] | None = None,
        exclude_queues: Iterable[str] = (),
    ) -> tuple[set[int], list[Job]]:
        """:meth:`mark_succeeded_many` then :meth:`claim`, in one transaction: a worker's loop
        ends the jobs that finished and takes new ones with one commit (one statement on
        PostgreSQL). Returns the ids marked succeeded and the claimed jobs."""
        outcomes = list(outcomes)
        if fastpath.available() and not self.query.has_filters():
            now = timezone.now()
            hooked = hooks.started.has_receivers or hooks.succeeded.wants_any(
                job.type for job, _ in outcomes
            )
            with _atomic_if(hooked):
                held, jobs = fastpath.succeed_and_claim(
                    outcomes,
                    worker_id=worker_id,
                    limit=max(0, limit),
                    queues=queues,
                    exclude_queues=exclude_queues,
                    now=now,
                    lease_until=now + timedelta(seconds=conf.lease_seconds()),
                )
                _mirror_successes(outcomes, held, now)
                hooks.started.send(jobs)
            return held, jobs
        if not outcomes:
            return set(), self.claim(
                worker_id=worker_id, limit=limit, queues=queues, exclude_queues=exclude_queues
            )
        with transaction.atomic():
            held = self.mark_succeeded_many(outcomes)
            return held, self.claim(
                worker_id=worker_id, limit=limit, queues=queues, exclude_queues=exclude_queues
            )

    def renew_leases(self, *, worker_id: str, ids: Iterable[int]) -> set[int]:
        """Extend the lease of the jobs this worker still holds; returns the ids it holds."""
        ids = list(ids)
        if not ids:
            return set()
        held = self.filter(pk__in=ids, worker_id=worker_id, status=Job.Status.RUNNING)
        held.update(lease_expires_at=timezone.now() + timedelta(seconds=conf.lease_seconds()))
        return set(held.values_list("pk", flat=True))

    def cancel_requested_among(self, ids: Iterable[int]) -> set[int]:
        ids = list(ids)
        if not ids:
            return set()
        return set(self.filter(pk__in=ids, cancel_requested=True).values_list("pk", flat=True))

    def recover_stuck(self, *, limit: int = 100) -> list[Job]:
        """Take back running jobs whose lease expired: retry them, or fail them for good."""
        recovered = []
        with transaction.atomic():
            stuck = list(self.stuck().select_for_update(skip_locked=True)[:limit])
            for job in stuck:
                reason = f"Lease expired: worker {job.worker_id} stopped renewing it"
                job._end_attempt(outcome=JobAttempt.Outcome.LOST, error=reason)
                job._retry_or_fail(error=reason, traceback="")
                recovered.append(job)
        return recovered

    def held(self):
        return self.filter(status=Job.Status.QUEUED).exclude(held_reason="")

    def resume_held(self) -> int:
        """Held jobs among these run as soon as a worker is free (the thing they waited for,
        e.g. a budget, changed). Wakes idle workers. Returns how many were resumed."""
        from jobs.services import notify_queued

        with transaction.atomic():
            held = self.held()
            queues = set(held.values_list("queue", flat=True).distinct())
            count = held.update(run_at=timezone.now(), held_reason="")
            if count:
                notify_queued(queues)
        return count


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    LIVE_STATUSES = (Status.QUEUED, Status.RUNNING)
    FINISHED_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    type = models.CharField(max_length=100, help_text="Name of the registered handler.")
    queue = models.CharField(max_length=100, default="default")
    priority = models.IntegerField(default=0, help_text="Higher runs first.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    payload = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    usage = models.JSONField(default=dict, blank=True, help_text="Tokens used by AI calls.")
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=3)
    run_at = models.DateTimeField(default=timezone.now, help_text="Not started before this.")
    timeout = models.FloatField(help_text="Seconds one attempt may run.", default=300.0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    worker_id = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    progress = models.PositiveSmallIntegerField(default=0)
    current_step = models.CharField(max_length=200, blank=True)
    held_reason = models.CharField(
        max_length=300,
        blank=True,
        help_text="Why a queued job is held (waiting for something outside it, e.g. a budget).",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
        db_index=False,  # job_owner_idx, partial
    )
    unique_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 - NULLs never collide
    #: Whose keys a ``unique_key`` is unique among: 0 for system and staff jobs (one global
    #: scope), else the owner's id (a user can neither see nor block another user's key).
    unique_scope = models.BigIntegerField(default=0, db_default=0, editable=False)
    depends_on = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="dependents",
        db_index=False,  # job_depends_on_idx, partial
    )

    objects = JobQuerySet.as_manager()

    class Meta:
        indexes = [
            # The claim of a worker on all queues: WHERE status='queued'
            # ORDER BY priority DESC, run_at, id — an index scan that stops at LIMIT.
            models.Index(
                F("priority").desc(),
                "run_at",
                "id",
                name="job_ready_idx",
                condition=Q(status="queued"),
            ),
            # The claim: WHERE status='queued' AND queue IN (…) ORDER BY priority DESC, run_at, id
            models.Index(
                "queue",
                F("priority").desc(),
                "run_at",
                "id",
                name="job_claim_idx",
                condition=Q(status="queued"),
            ),
            models.Index("lease_expires_at", name="job_lease_idx", condition=Q(status="running")),
            models.Index("status", "type", name="job_status_type_idx"),
            models.Index("created_at", name="job_created_idx"),
            # The dashboard: queue depth, the oldest waiting job, failures (its pending list reads
            # job_ready_idx, in the claim's order).
            models.Index(
                "queue",
                "type",
                "status",
                name="job_live_queue_type_idx",
                condition=Q(status__in=["queued", "running"]),
            ),
            models.Index("run_at", name="job_waiting_idx", condition=Q(status="queued")),
            # Partial where a column is mostly empty: a status change is never a HOT update, so
            # each index takes an entry at every insert, claim and success; these take one
            # only from the rows they can find (finished jobs; jobs with an owner, a dependency).
            models.Index(
                "finished_at",
                "status",
                name="job_finished_status_idx",
                condition=Q(finished_at__isnull=False),
            ),
            models.Index("owner", name="job_owner_idx", condition=Q(owner__isnull=False)),
            models.Index(
                "depends_on", name="job_depends_on_idx", condition=Q(depends_on__isnull=False)
            ),
            models.Index(
                F("finished_at").desc(), name="job_failed_idx", condition=Q(status="failed")
            ),
        ]
        permissions = [
            ("requeue_job", "Can requeue failed or cancelled jobs and rescue stuck ones"),
            ("run_job_now", "Can make a scheduled job run at once"),
            ("cancel_job", "Can cancel jobs"),
            ("prioritize_job", "Can raise the priority of queued jobs"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["unique_scope", "unique_key"],
                condition=Q(status__in=["queued", "running"]),
                name="job_unique_key_scope_live",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="job_progress_max_100"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.type} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED_STATUSES

    @property
    def is_held(self) -> bool:
        """Queued, but waiting for something outside the job (``held_reason`` says what)."""
        return self.status == Job.Status.QUEUED and bool(self.held_reason)

    @property
    def duration(self) -> timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    # --- writes by the worker that holds the job (fenced on worker and attempt) -------------

    def _held(self):
        return Job.objects.filter(
            pk=self.pk, status=Job.Status.RUNNING, worker_id=self.worker_id, attempts=self.attempts
        )

    def mark_succeeded(self, result: Any, *, on_success: Iterable[Callable[[], None]] = ()) -> bool:
        """Finish the attempt with a result. False when the job is no longer this worker's."""
        now = timezone.now()
        on_success = list(on_success)
        if not on_success and fastpath.available() and not hooks.succeeded.wants(self.type):
            if not fastpath.succeed(self, result, now=now):
                return False
            self._succeeded(result, now)
            return True
        with transaction.atomic():
            if not self._held().update(
                status=Job.Status.SUCCEEDED,
                result=result,
                started_at=self.started_at,
                finished_at=now,
                progress=100,
                lease_expires_at=None,
                error="",
                traceback="",
            ):
                return False
            self.status, self.result, self.finished_at, self.progress = (
                Job.Status.SUCCEEDED,
                result,
                now,
                100,
            )
            self._end_attempt(outcome=JobAttempt.Outcome.SUCCEEDED, now=now)
            for callback in on_success:
                callback()
            hooks.succeeded.send([self])
        return True

    def _succeeded(self, result: Any, now: datetime) -> None:
        """What a fast-path success wrote, mirrored on this instance."""
        self.status, self.result, self.finished_at, self.progress = (
            Job.Status.SUCCEEDED,
            result,
            now,
            100,
        )
        self.lease_expires_at, self.error, self.traceback = None, "", ""

    def mark_failed(self, error: str, traceback: str = "", *, retry: bool = True) -> bool:
        """Finish the attempt with an error: retry with backoff, or fail for good."""
        error, traceback = storable_text(error), storable_text(traceback)
        with transaction.atomic():
            held = self._held().select_for_update().values_list("cancel_requested", flat=True)
            if not held:
                return False
            self.cancel_requested = held[0]
            self._end_attempt(outcome=JobAttempt.Outcome.FAILED, error=error)
            self._retry_or_fail(error=error, traceback=traceback, retry=retry)
        return True

    def mark_cancelled(self, reason: str = "Cancelled while running") -> bool:
        now = timezone.now()
        with transaction.atomic():
            if not self._held().update(
                status=Job.Status.CANCELLED,
                error=reason,
                started_at=self.started_at,
                finished_at=now,
                lease_expires_at=None,
            ):
                return False
            self.status, self.error, self.finished_at = Job.Status.CANCELLED, reason, now
            self._end_attempt(outcome=JobAttempt.Outcome.CANCELLED, error=reason, now=now)
            hooks.cancelled.send([self])
            self._cancel_dependents()
        return True

    def release(
        self,
        reason: str = "Worker shut down",
        *,
        to_the_back: bool = False,
        run_at: datetime | None = None,
    ) -> bool:
        """Give a running job back to the queue without counting the attempt (a shutdown, its
        queue held, or the database lost mid-attempt: none is the job's fault). ``to_the_back``
        makes it ready from now (behind jobs already waiting), ``run_at`` not before then; no
        claim can start it before the attempt is recorded as ended.

        A job that staff asked to cancel is cancelled instead. False when not released."""
        now = timezone.now()
        changes: dict[str, Any] = {"held_reason": ""}
        if to_the_back or run_at:
            changes["run_at"] = run_at or now
        return self._give_back(
            JobAttempt.Outcome.RELEASED,
            reason,
            now=now,
            cancelled="Cancelled while running (stopped at worker shutdown)",
            **changes,
        )

    def hold(self, reason: str, *, until: datetime | None = None) -> bool:
        """Give a running job back to the queue, held: the attempt does not count, and the job
        runs again at ``until`` (default: in ``JOBS_HELD_RECHECK_SECONDS``) or when
        :meth:`JobQuerySet.resume_held` wakes it. A job staff asked to cancel is cancelled."""
        now = timezone.now()
        reason = storable_text(reason)[:300]
        return self._give_back(
            JobAttempt.Outcome.HELD,
            reason,
            now=now,
            cancelled=f"Cancelled while held: {reason}",
            held_reason=reason,
            run_at=until or now + timedelta(seconds=conf.held_recheck_seconds()),
            progress=0,
            current_step="",
        )

    def _give_back(
        self, outcome: str, reason: str, *, now: datetime, cancelled: str, **changes: Any
    ) -> bool:
        """Release or hold: queued again with the attempt not counted, fenced on this attempt,
        and the attempt row ended with ``outcome``. A job staff asked to cancel is cancelled
        instead (the note ``cancelled``). False when the job was not given back."""
        with transaction.atomic():
            given_back = (
                self._held()
                .filter(cancel_requested=False)
                .update(
                    status=Job.Status.QUEUED,
                    attempts=F("attempts") - 1,
                    worker_id="",
                    lease_expires_at=None,
                    started_at=None,
                    **changes,
                )
            )
            if not given_back:
                self.mark_cancelled(cancelled)  # fenced: a job no longer ours is left alone
                return False
            self._end_attempt(outcome=outcome, error=reason, now=now)
            self.status, self.attempts, self.worker_id = Job.Status.QUEUED, self.attempts - 1, ""
            for name in ("held_reason", "run_at", "progress", "current_step"):
                if name in changes:
                    setattr(self, name, changes[name])
        return True

    def set_progress(self, percent: int, step: str = "") -> bool:
        percent = max(0, min(100, int(percent)))
        return bool(self._held().update(progress=percent, current_step=step[:200]))

    def add_usage(self, usage: dict[str, int]) -> None:
        """Add token counts of one AI call to the job's running totals."""
        totals = dict(self.usage or {})
        for key, value in usage.items():
            if isinstance(value, int):
                totals[key] = totals.get(key, 0) + value
        totals["calls"] = totals.get("calls", 0) + 1
        self.usage = totals
        self._held().update(usage=totals)

    def _end_attempt(self, *, outcome: str, error: str = "", now: datetime | None = None) -> None:
        """End the current attempt's row; it starts when the handler started (``started_at``,
        which the worker moves from the claim's time for a job it claimed ahead)."""
        started = {"started_at": self.started_at} if self.started_at else {}
        self.attempt_history.filter(number=self.attempts, finished_at__isnull=True).update(
            outcome=outcome, error=error, finished_at=now or timezone.now(), **started
        )

    def _retry_or_fail(self, *, error: str, traceback: str, retry: bool = True) -> None:
        """After a failed attempt (row already locked or fenced): schedule a retry or give up.
        A job that staff asked to cancel while it ran is cancelled, never retried."""
        now = timezone.now()
        fields: dict[str, Any] = {
            "error": error,
            "traceback": traceback,
            "started_at": self.started_at,
            "worker_id": "",
            "lease_expires_at": None,
            "held_reason": "",
        }
        if self.cancel_requested:
            fields |= {
                "status": Job.Status.CANCELLED,
                "finished_at": now,
                "error": f"Cancelled while running; the attempt ended with: {error}",
            }
        elif retry and self.attempts < self.max_attempts:
            fields |= {"status": Job.Status.QUEUED, "run_at": now + self.backoff(self.attempts)}
        else:
            fields |= {"status": Job.Status.FAILED, "finished_at": now}
        Job.objects.filter(pk=self.pk).update(**fields)
        for name, value in fields.items():
            setattr(self, name, value)
        if self.status != Job.Status.QUEUED:
            hook = hooks.failed if self.status == Job.Status.FAILED else hooks.cancelled
            hook.send([self])
            self._cancel_dependents()

    @staticmethod
    def backoff(attempt: int) -> timedelta:
        """Exponential backoff with full jitter between half and the whole step."""
        step = min(conf.retry_backoff_base() * 2 ** (attempt - 1), conf.retry_backoff_max())
        return timedelta(seconds=step * random.uniform(0.5, 1.0))  # noqa: S311

    def _cancel_dependents(self) -> None:
        """Jobs waiting on a job that will never succeed are cancelled, with the reason."""
        waiting = list(self.dependents.filter(status=Job.Status.QUEUED))
        for job in waiting:
            job.cancel(reason=f"Dependency #{self.pk} ({self.type}) did not succeed")

    # --- writes by staff and programs --------------------------------------------------------

    def cancel(self, *, reason: str = "Cancelled") -> bool:
        """Cancel a queued job at once; ask a running one to stop at its next check."""
        now = timezone.now()
        with transaction.atomic():
            if Job.objects.filter(pk=self.pk, status=Job.Status.QUEUED).update(
                status=Job.Status.CANCELLED, error=reason, finished_at=now
            ):
                self.status, self.error, self.finished_at = Job.Status.CANCELLED, reason, now
                hooks.cancelled.send([self])
                self._cancel_dependents()
                return True
            if Job.objects.filter(pk=self.pk, status=Job.Status.RUNNING).update(
                cancel_requested=True
            ):
                self.cancel_requested = True
                return True
        return False

    def requeue(self, *, now: datetime | None = None) -> bool:
        """Put a failed or cancelled job back in the queue with a fresh attempt count.

        Jobs that were cancelled because this one did not succeed come back with it. The
        :data:`~jobs.hooks.requeued` hook hears it in the same transaction; a receiver that
        refuses (:class:`~jobs.exceptions.EnqueueRefused`, e.g. not enough credits) leaves
        everything as it was.
        """
        now = now or timezone.now()
        with transaction.atomic():
            if not Job.objects.filter(
                pk=self.pk, status__in=[Job.Status.FAILED, Job.Status.CANCELLED]
            ).update(
                status=Job.Status.QUEUED,
                attempts=0,
                run_at=now,
                finished_at=None,
                started_at=None,
                error="",
                traceback="",
                cancel_requested=False,
                progress=0,
                current_step="",
                held_reason="",
            ):
                return False
            self.refresh_from_db()
            hooks.requeued.send([self])
            reason = f"Dependency #{self.pk} ({self.type}) did not succeed"
            for job in self.dependents.filter(status=Job.Status.CANCELLED, error=reason):
                job.requeue(now=now)
        return True

    def raise_priority(self, *, by: int = 10) -> bool:
        """A queued job moves ahead of the jobs ``by`` priority levels above it."""
        if not Job.objects.filter(pk=self.pk, status=Job.Status.QUEUED).update(
            priority=F("priority") + by
        ):
            return False
        self.refresh_from_db(fields=["priority"])
        return True

    def run_now(self) -> bool:
        """A queued job waiting for its retry time runs at once."""
        return bool(
            Job.objects.filter(pk=self.pk, status=Job.Status.QUEUED).update(run_at=timezone.now())
        )


class JobAttempt(models.Model):
    """One row per attempt: staff can see why a job failed three times, not just the last."""

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        LOST = "lost", "Lost (lease expired)"
        RELEASED = "released", "Released (shutdown or queue held)"
        HELD = "held", "Held (not counted)"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="attempt_history")
    number = models.PositiveIntegerField()
    worker_id = models.CharField(max_length=200)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["job", "number", "started_at"]
        indexes = [models.Index("job", "number", name="jobattempt_job_number_idx")]

    def __str__(self) -> str:
        return f"Job #{self.job_id} attempt {self.number}: {self.outcome}"

    @property
    def duration(self) -> timedelta | None:
        return self.finished_at - self.started_at if self.finished_at else None


class WorkerQuerySet(models.QuerySet["Worker"]):
    def alive(self, *, now: datetime | None = None):
        cutoff = (now or timezone.now()) - timedelta(seconds=conf.worker_stale_seconds())
        return self.filter(last_heartbeat__gte=cutoff)

    def stale(self, *, now: datetime | None = None):
        cutoff = (now or timezone.now()) - timedelta(seconds=conf.worker_stale_seconds())
        return self.filter(last_heartbeat__lt=cutoff)


class Worker(models.Model):
    """One row per running ``runworker`` process, renewed by its heartbeat."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        QUIET = "quiet", "Quiet (takes no new jobs)"
        STOPPING = "stopping", "Stopping"

    class Command(models.TextChoices):
        NONE = "", "None"
        QUIET = "quiet", "Finish running jobs, take no more"
        STOP = "stop", "Stop"

    id = models.CharField(max_length=200, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    queues = models.JSONField(default=list, blank=True)
    concurrency = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    last_heartbeat = models.DateTimeField(default=timezone.now)
    jobs_running = models.PositiveIntegerField(default=0)
    jobs_succeeded = models.PositiveIntegerField(default=0)
    jobs_failed = models.PositiveIntegerField(default=0)
    command = models.CharField(
        max_length=8,
        choices=Command.choices,
        default=Command.NONE,
        blank=True,
        help_text="What staff told the worker to do; it reads this at its next heartbeat.",
    )

    objects = WorkerQuerySet.as_manager()

    class Meta:
        ordering = ["started_at"]
        permissions = [("control_worker", "Can tell workers to go quiet or stop")]

    def __str__(self) -> str:
        return self.id


from jobs.controls import Queue, Schedule, ScheduleRun  # noqa: E402, F401 - models of this app
