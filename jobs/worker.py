"""The ``runworker`` process: claim ready jobs, run them in threads, heartbeat, shut down cleanly.

The main thread loops: refill free slots with one claim query, enforce timeouts, then wait until
a job finishes, a NOTIFY arrives (PostgreSQL), or the poll interval passes. Each job runs in one of
``concurrency`` long-lived threads, each with its own database connection. A heartbeat thread
renews leases and the worker's row, passes cancellations to running handlers, and takes back jobs
of workers that died. The transaction is held only around the claim; handlers run outside it.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import os
import queue
import secrets
import signal
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NamedTuple

from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
)
from django.utils import timezone

from jobs import conf, fastpath, hooks, registry
from jobs import queues as controls
from jobs.context import JobContext
from jobs.exceptions import (
    InvalidPayload,
    JobCancelled,
    JobHeld,
    JobLost,
    JobTimedOut,
    PermanentError,
    QueueHeld,
    UnknownJobType,
)
from jobs.health import HealthServer
from jobs.listener import QueueListener
from jobs.models import Job
from jobs.models import Worker as WorkerRow
from jobs.outage import Outage, is_lost_connection
from jobs.schedules import Scheduler
from jobs.services import check_storable_json

logger = logging.getLogger("jobs.worker")

# Seconds between tries to reach the database again while it is unreachable (at most): the
# workers are back at full speed within about this long after it returns.
OUTAGE_RETRY_SECONDS = 1.0
# Seconds between tries to record an outcome after other database errors (then: left to the lease).
RECORD_RETRY_DELAYS = (0.5, 1.0, 2.0)
RELEASE_REASON = "The database connection was lost during this attempt; it does not count"


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class _Claimed(NamedTuple):
    job: Job
    at: float  # time.monotonic() of the claim
    ahead: bool  # claimed beyond the free slots: it waits for one, and starts later


@dataclass
class _Running:
    job: Job
    ctx: JobContext
    thread: _JobThread
    started: float = field(default_factory=time.monotonic)
    # The handler returned; the main loop records the success with others in one statement.
    completing: bool = False
    result: Any = None


class _JobThread(threading.Thread):
    """A long-lived thread that runs one job at a time and keeps its database connection.
    A thread stuck in a handler past its timeout is retired: it exits once the handler returns,
    and a fresh thread takes its place."""

    def __init__(self, worker: WorkerProcess, index: int) -> None:
        super().__init__(name=f"job-{index}", daemon=True)
        self.worker = worker
        self.inbox: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self.retired = False
        self.busy = False

    def run(self) -> None:
        try:
            while True:
                job: Job | None = self.inbox.get()
                if job is None:
                    return
                while job is not None:
                    try:
                        self.worker._execute(job)
                    except Exception:
                        # Never die with a job in hand: let go of it, so its lease expires and
                        # the job is taken back, and keep serving.
                        logger.exception("job=%s event=crashed (the worker lets go of it)", job.pk)
                        self.worker._let_go(job)
                    if self.retired:
                        return
                    # The next job claimed ahead, if any, without waiting for the main loop.
                    job = self.worker._next_ready(self)
        finally:
            connection.close()


class WorkerProcess:
    """The runworker process loop (its database record is `jobs.models.Worker`)."""

    def __init__(
        self,
        *,
        queues: list[str] | None = None,
        concurrency: int = 1,
        poll_interval: float = 1.0,
        burst: bool = False,
        max_jobs: int | None = None,
        worker_id: str | None = None,
        health_port: int | None = None,
        health_host: str = "127.0.0.1",
        grace_period: float | None = None,
        listen: bool = True,
        scheduler: bool = True,
        claim_ahead: int | None = None,
    ) -> None:
        self.queues = queues or []
        self.concurrency = concurrency
        # Jobs claimed beyond the free slots while jobs are short (per slot: JOBS_CLAIM_AHEAD).
        per_slot = conf.claim_ahead() if claim_ahead is None else max(0, claim_ahead)
        self.claim_ahead = per_slot * concurrency
        self.poll_interval = poll_interval
        self.burst = burst
        self.max_jobs = max_jobs
        self.id = worker_id or default_worker_id()
        self.grace_period = conf.grace_period() if grace_period is None else grace_period
        self.started_at = time.monotonic()
        self.claimed = self.succeeded = self.failed = 0
        self._active: dict[int, _Running] = {}
        self._succeeded: list[_Running] = []  # handlers returned, success not yet recorded
        # Claimed, not started yet (ahead of a free slot when jobs are short), oldest first.
        self._ready: deque[_Claimed] = deque()
        self._short_streak = 0  # jobs in a row that ran shorter than SHORT_JOB_SECONDS
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._force = False
        self._halt = threading.Event()
        self._heartbeat_thread = threading.Thread(
            target=self._heartbeat_loop, name="heartbeat", daemon=True
        )
        self._threads: list[_JobThread] = []
        self._last_cancel_poll = 0.0
        self._claim_retry = 0.0  # seconds until the next claim after a failed one
        self._outage = Outage(
            self.id,
            retry_every=min(poll_interval, OUTAGE_RETRY_SECONDS),
            remind_every=conf.outage_reminder_seconds(),
        )
        self._health = (
            HealthServer(self, health_host, health_port) if health_port is not None else None
        )
        self._listener = (
            QueueListener(self._on_notify, self._outage, on_control=self._on_control)
            if listen and not burst
            else None
        )
        self._controls = controls.Controls(max_age=min(controls.SNAPSHOT_MAX_AGE, poll_interval))
        self._quiet = False  # told "quiet" by staff: finish running jobs, take no more
        self._scheduler = (
            Scheduler(interval=conf.scheduler_interval(), outage=self._outage)
            if scheduler and not burst and conf.scheduler_enabled()
            else None
        )

    # --- public -------------------------------------------------------------------------

    def run(self) -> int:
        """Work until stopped, or with ``burst`` until nothing is ready. Returns the exit code."""
        previous = self._install_signals()
        if not self._register_when_reachable():
            self._restore_signals(previous)
            return 0
        self._heartbeat_thread.start()
        if self._listener:
            self._listener.start()
        if self._scheduler:
            self._scheduler.start()
        if self._health:
            self._health.start()
            logger.info("worker=%s health on http://%s:%s/health", self.id, *self._health.address)
        logger.info(
            "worker=%s started queues=%s concurrency=%s",
            self.id,
            ",".join(self.queues) or "*",
            self.concurrency,
        )
        try:
            self._loop()
        finally:
            self._shutdown()
            self._restore_signals(previous)
        return 0

    def stop(self, *, force: bool = False) -> None:
        """Stop claiming; running jobs get the grace period (none when ``force``)."""
        if self._stopping.is_set():
            force = True
        self._force = self._force or force
        self._stopping.set()
        self._wake.set()

    @property
    def active_count(self) -> int:
        return len(self._active)

    @property
    def status(self) -> str:
        if self._stopping.is_set():
            return "stopping"
        return "quiet" if self._quiet else "running"

    def uptime(self) -> float:
        return time.monotonic() - self.started_at

    # --- the loop -------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            _tidy_connections()
            try:
                self._enforce_timeouts()
                self._poll_cancellations()
            except DatabaseError as exc:
                self._database_lost("supervising running jobs", exc)
            idle = not self._active
            self._gather_successes()
            claimed = self._fill_slots()
            self._give_back_waiting()
            if self._done(claimed, idle=idle):
                return
            self._wake.wait(self._next_wait())

    def _gather_successes(self) -> None:
        """When some jobs have finished and others are still running, wait a moment (at most
        GATHER_SECONDS) for those to finish too, so that one statement records them all:
        like PostgreSQL's commit_delay, a little latency on the success for far fewer
        statements when jobs are short."""
        deadline = time.monotonic() + GATHER_SECONDS
        while True:
            with self._lock:
                pending = len(self._succeeded)
                running = len(self._active) - pending
            if not pending or not running or time.monotonic() >= deadline:
                return
            time.sleep(GATHER_SECONDS / 4)

    def _fill_slots(self) -> int:
        """Record the successes job threads handed over and claim jobs for the free slots, in
        one transaction (one statement on PostgreSQL): a pass of the loop costs one commit
        however many jobs it ends and starts. On an error both are tried again next pass."""
        with self._lock:
            runs, self._succeeded = self._succeeded, []
            busy = self._slots_used()
            waiting = len(self._ready)
        free = max(0, self.concurrency - busy - waiting)
        wanted = max(0, self.concurrency + self._ahead() - busy - waiting)
        if self.max_jobs is not None:
            wanted = min(wanted, self.max_jobs - self.claimed)
            free = min(free, wanted)
        if self._quiet:
            free = wanted = 0
        if wanted <= 0 and not runs:
            self._start_ready()  # a slot freed outside a job thread (a timeout, a lost lease)
            return 0
        try:
            plan = self._claim_plan()
            held, jobs = Job.objects.succeed_and_claim(
                [(run.job, run.result) for run in runs],
                worker_id=self.id,
                limit=wanted if plan.open else 0,
                queues=plan.queues,
                exclude_queues=plan.exclude,
            )
        except Exception as exc:
            # Retry soon, backing off, however long the poll interval: a wake-up (a NOTIFY)
            # that found a dead connection must not leave the jobs waiting a whole interval.
            self._claim_retry = min(max(self._claim_retry * 2, 0.1), OUTAGE_RETRY_SECONDS)
            self._database_lost("claiming jobs", exc)
            with self._lock:
                self._succeeded[:0] = runs
            return 0
        self._claim_retry = 0.0
        self._outage.ok()
        for run in runs:
            if self._active.get(run.job.pk) is run:
                self._finish(run.job, run, "succeeded" if run.job.pk in held else "discarded")
        if plan.limited and free > len(jobs):
            # Never ahead from limited queues: a job held there would take a place of the
            # queue's limit without running.
            jobs += self._claim_limited(plan.limited, free - len(jobs))
        claimed_at = time.monotonic()
        with self._lock:
            self._ready.extend(
                _Claimed(job, claimed_at, ahead=index >= free) for index, job in enumerate(jobs)
            )
            self.claimed += len(jobs)
        self._start_ready()
        return len(jobs)

    def _slots_used(self) -> int:
        """Jobs whose handler is running (a job whose handler returned frees its slot, though
        its success is recorded by the next statement). Call with the lock held."""
        return sum(1 for run in self._active.values() if not run.completing)

    def _ahead(self) -> int:
        """How many jobs to claim beyond the free slots: ``claim_ahead`` while the jobs are
        short (the last ``concurrency`` finished under SHORT_JOB_SECONDS and none running is
        older), so that a job thread takes the next job as soon as it is free instead of
        waiting for the loop's next statement; none while a job runs long, where a job held
        ahead would wait behind it instead of going to another worker."""
        if not self.claim_ahead or self._short_streak < self.concurrency:
            return 0
        oldest = time.monotonic() - SHORT_JOB_SECONDS
        with self._lock:
            if any(run.started < oldest for run in self._active.values() if not run.completing):
                return 0
        return self.claim_ahead

    def _start_ready(self) -> None:
        """Start claimed jobs on idle threads while slots are free (a job thread whose job
        just ended takes the next one itself)."""
        while True:
            with self._lock:  # threads' busy flags change under it too
                if not self._ready or self._slots_used() >= self.concurrency:
                    return
                thread = self._idle_thread()
                if thread is None:
                    return
                job = self._begin(self._ready.popleft(), thread)
            thread.inbox.put(job)

    def _next_ready(self, thread: _JobThread) -> Job | None:
        """For a job thread whose job ended: the next job claimed ahead (begun on this thread),
        or None, and the thread is idle."""
        with self._lock:
            taking = not (self._stopping.is_set() or self._quiet)
            if taking and self._ready and self._slots_used() < self.concurrency:
                return self._begin(self._ready.popleft(), thread)
            thread.busy = False
            return None

    def _begin(self, claimed: _Claimed, thread: _JobThread) -> Job:
        """A job starts on ``thread`` now: its timeout counts from here. Call with the lock."""
        job = claimed.job
        timeout = job.timeout or conf.default_timeout()
        if claimed.ahead:  # its start, recorded with its outcome, is now, not the claim
            job.started_at = timezone.now()
        ctx = JobContext(job, timeout=timeout)
        self._active[job.pk] = _Running(job=job, ctx=ctx, thread=thread)
        thread.busy = True
        logger.info(
            "job=%s type=%s attempt=%s/%s event=started",
            job.pk,
            job.type,
            job.attempts,
            job.max_attempts,
        )
        return job

    def _note_duration(self, run: _Running) -> None:
        """Count how long a job ran, for :meth:`_ahead`. Call with the lock held."""
        if time.monotonic() - run.started < SHORT_JOB_SECONDS:
            self._short_streak += 1
        else:
            self._short_streak = 0

    def _give_back_waiting(self) -> None:
        """Jobs claimed ahead that could not start for READY_MAX_SECONDS (every slot taken by
        a job that turned out long; or quiet) go back, for other workers to take."""
        with self._lock:
            if not self._ready:
                return
            stale = time.monotonic() - self._ready[0].at >= READY_MAX_SECONDS
        if self._quiet:
            self._give_back_ready("Claimed ahead, not started: the worker was told to go quiet")
        elif stale:
            self._give_back_ready("Claimed ahead, not started: every slot of the worker was busy")

    def _give_back_ready(self, reason: str) -> None:
        """Jobs claimed ahead and not started go back to the queue, their attempt not counted
        (a job staff asked to cancel is cancelled)."""
        with self._lock:
            waiting = [claimed.job for claimed in self._ready]
            self._ready.clear()
            self.claimed -= len(waiting)
        for job in waiting:
            try:
                job.release(reason)
            except DatabaseError as exc:
                self._database_lost(f"giving job {job.pk} back (its lease will expire)", exc)

    def _claim_limited(self, names: list[str], limit: int) -> list[Job]:
        """Claim from queues with a concurrency or rate limit, each under its row lock."""
        try:
            return controls.claim_limited_queues(worker_id=self.id, queues=names, limit=limit)
        except Exception as exc:
            self._claim_retry = min(max(self._claim_retry * 2, 0.1), 5.0)
            self._database_lost("claiming jobs of limited queues", exc)
            return []

    def _claim_plan(self) -> controls.ClaimPlan:
        """Which queues to claim how: paused and held ones left out, limited ones apart."""
        self._controls.refresh()
        return self._controls.plan(self.queues)

    def _done(self, claimed: int, *, idle: bool) -> bool:
        if self._ready:
            return False
        if self.max_jobs is not None and self.claimed >= self.max_jobs and not self._active:
            return True
        # Burst: done only when a claim made with nothing running found nothing. A job that
        # finished after this pass's claim may have made its dependents ready.
        if not (self.burst and idle and claimed == 0 and not self._active):
            return False
        return not self._claim_retry and not self._due_before_next_poll()

    def _due_before_next_poll(self) -> bool:
        """Burst: whether a job this worker may take comes due before its next poll, a retry
        backing off for a moment say, so that the burst waits for it rather than leave it.
        Queues with limits are left out: their jobs may wait on the limit, not on the clock."""
        try:
            plan = self._claim_plan()
            if self.queues and not plan.queues:
                return False
            soon = timezone.now() + timedelta(seconds=self.poll_interval)
            due = Job.objects.ready(queues=plan.queues, exclude_queues=plan.exclude, now=soon)
            return due.exists()
        except DatabaseError as exc:
            self._database_lost("looking for jobs coming due", exc)
            return False

    def _next_wait(self) -> float:
        wait = min(self.poll_interval, self._claim_retry or self.poll_interval)
        now = time.monotonic()
        with self._lock:
            if self._ready:
                wait = min(wait, max(0.0, self._ready[0].at + READY_MAX_SECONDS - now) + 0.01)
            for run in self._active.values():
                wait = min(wait, max(0.0, run.ctx.deadline - now) + 0.01)
        return wait

    def _idle_thread(self) -> _JobThread | None:
        """An idle job thread, or a new one; None when ``concurrency`` threads are all busy
        (one whose job just ended takes the next job claimed itself)."""
        self._threads = [thread for thread in self._threads if not thread.retired]
        for thread in self._threads:
            if not thread.busy:
                return thread
        if len(self._threads) >= self.concurrency:
            return None
        thread = _JobThread(self, len(self._threads) + 1)
        self._threads.append(thread)
        thread.start()
        return thread

    # --- running one job (in a job thread) ------------------------------------------------

    def _execute(self, job: Job) -> None:
        run = self._active.get(job.pk)
        if run is None:
            return
        ctx = run.ctx
        _tidy_connections()
        error = ""
        try:
            handler = registry.get(job.type).handler
            result = handler(job.payload, ctx)
            _ensure_json(result)
            if not ctx._on_success and fastpath.available() and not hooks.succeeded.wants(job.type):
                # Hand the success to the main loop, which records the successes of all the
                # jobs that finished meanwhile in one statement (then frees this thread).
                with self._lock:
                    run.result, run.completing = result, True
                    self._succeeded.append(run)
                    self._note_duration(run)
                self._wake.set()
                return
            outcome = self._record(
                job, "succeeded", lambda: job.mark_succeeded(result, on_success=ctx._on_success)
            )
        except JobCancelled:
            outcome = self._record(job, "cancelled", job.mark_cancelled)
        except JobHeld as held:
            error = held.reason
            hold = functools.partial(job.hold, held.reason, until=held.until)
            outcome = self._record(job, "held", hold)
        except JobLost:
            outcome = "discarded"
        except QueueHeld as exc:
            outcome = self._record(job, "held", functools.partial(controls.hold_for_job, job, exc))
            self._controls.invalidate()
            error = str(exc)
        except Exception as exc:
            if is_lost_connection(exc) and ctx.stop_reason is None:
                # Losing the database is the worker's problem, not the job's: give the attempt
                # back (once the database is reachable) without counting it.
                self._outage.lost(f"job {job.pk} was running", exc)
                outcome = self._record(
                    job, "given back", lambda: job.release(RELEASE_REASON, to_the_back=True)
                )
                self._finish(job, run, outcome, "database connection lost")
                _tidy_connections()
                return
            if isinstance(exc, JobTimedOut) or ctx.stop_reason == ctx.TIMED_OUT:
                error = f"Timed out after {job.timeout:g}s"
            else:
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            retry = not isinstance(exc, PermanentError | UnknownJobType)
            trace = traceback.format_exc()
            outcome = self._record(
                job, "failed", lambda: job.mark_failed(error, trace, retry=retry)
            )
        finally:
            _tidy_connections()
        self._finish(job, run, outcome, error)

    def _record(self, job: Job, outcome: str, write: Callable[[], bool]) -> str:
        """Write the outcome of an attempt, reconnecting until the database is back.

        The writes are fenced, so writing again after a lost reply cannot finish a job twice,
        and the job stays this worker's meanwhile (its heartbeat renews the lease as soon as
        the database answers). Only a forced stop gives up, leaving the job to its lease.
        Errors other than a lost connection are the attempt's own."""
        failures = 0
        while True:
            try:
                written = write()
            except (OperationalError, InterfaceError) as exc:
                lost = is_lost_connection(exc)
                connection.close()
                if lost:
                    self._outage.lost(f"recording that job {job.pk} {outcome}", exc)
                    delay = self._outage.retry_every
                elif failures < len(RECORD_RETRY_DELAYS):
                    logger.warning(
                        "job=%s recording %s failed (%s); retrying", job.pk, outcome, exc
                    )
                    delay = RECORD_RETRY_DELAYS[failures]
                    failures += 1
                else:
                    delay = None
                if delay is None or self._halt.wait(delay):
                    logger.error(
                        "job=%s event=unrecorded (its lease will expire and it retries)", job.pk
                    )
                    return "unrecorded"
                continue
            self._outage.ok()
            return outcome if written else "discarded"

    def _let_go(self, job: Job) -> None:
        run = self._active.get(job.pk)
        if run is not None:
            self._finish(job, run, "unrecorded", "the job thread crashed")

    def _finish(self, job: Job, run: _Running, outcome: str, error: str = "") -> None:
        with self._lock:
            if self._active.get(job.pk) is run:
                del self._active[job.pk]
                if not run.completing:
                    self._note_duration(run)
            if outcome == "succeeded":
                self.succeeded += 1
            elif outcome == "failed":
                self.failed += 1
        duration_ms = (time.monotonic() - run.started) * 1000
        if outcome == "failed":
            next_step = "retry" if job.status == Job.Status.QUEUED else "gave up"
            logger.warning(
                "job=%s type=%s attempt=%s/%s event=failed duration=%.1fms next=%s error=%s",
                job.pk,
                job.type,
                job.attempts,
                job.max_attempts,
                duration_ms,
                next_step,
                error[:300],
            )
        else:
            logger.info(
                "job=%s type=%s attempt=%s/%s event=%s duration=%.1fms",
                job.pk,
                job.type,
                job.attempts,
                job.max_attempts,
                outcome,
                duration_ms,
            )
        self._wake.set()

    # --- supervision (main thread) ------------------------------------------------------

    def _record_successes(self) -> None:
        """At shutdown: record the successes handed over, claiming nothing more."""
        with self._lock:
            runs, self._succeeded = self._succeeded, []
        if not runs:
            return
        try:
            held = Job.objects.mark_succeeded_many((run.job, run.result) for run in runs)
        except Exception:
            logger.exception("worker=%s could not record %s successes", self.id, len(runs))
            with self._lock:
                self._succeeded[:0] = runs
            return
        for run in runs:
            if self._active.get(run.job.pk) is run:
                self._finish(run.job, run, "succeeded" if run.job.pk in held else "discarded")

    def _enforce_timeouts(self) -> None:
        now = time.monotonic()
        with self._lock:
            late = [
                run
                for run in self._active.values()
                if now >= run.ctx.deadline and not run.completing
            ]
        for run in late:
            run.ctx.stop(JobContext.TIMED_OUT)
            run.thread.retired = True
            job = copy.copy(run.job)
            failed = job.mark_failed(f"Timed out after {job.timeout:g}s", "")
            self._finish(run.job, run, "failed" if failed else "discarded", "timed out")

    def _poll_cancellations(self) -> None:
        now = time.monotonic()
        if not self._active or now - self._last_cancel_poll < self.poll_interval:
            return
        self._last_cancel_poll = now
        self._deliver_cancellations()

    def _deliver_cancellations(self) -> None:
        with self._lock:
            ids = list(self._active)
        for job_id in Job.objects.cancel_requested_among(ids):
            run = self._active.get(job_id)
            if run:
                run.ctx.stop(JobContext.CANCELLED)

    def _on_notify(self, queue_name: str) -> None:
        if not self.queues or queue_name in self.queues:
            self._wake.set()

    def _on_control(self, queue_name: str) -> None:
        """A queue was paused, resumed, limited or held: read the controls again now."""
        self._controls.invalidate()
        self._wake.set()

    # --- heartbeat (its own thread) -----------------------------------------------------

    def _heartbeat_loop(self) -> None:
        interval = conf.heartbeat_seconds()
        while not self._halt.wait(interval):
            try:
                self._heartbeat()
            except Exception as exc:
                self._database_lost("renewing leases (heartbeat)", exc)
        connection.close()

    def _heartbeat(self) -> None:
        close_old_connections()
        with self._lock:
            snapshot = dict(self._active)
            waiting = {claimed.job.pk for claimed in self._ready}
        held = Job.objects.renew_leases(worker_id=self.id, ids=[*snapshot, *waiting])
        if waiting - held:
            with self._lock:  # taken back meanwhile (staff, or an expired lease): not ours
                self._ready = deque(item for item in self._ready if item.job.pk in held)
        for job_id, run in snapshot.items():
            if job_id not in held and self._active.get(job_id) is run and not run.completing:
                run.ctx.stop(JobContext.LOST)
                run.thread.retired = True
                self._finish(run.job, run, "lost", "lease lost")
        self._deliver_cancellations()
        self._save_row()
        self._outage.ok()
        if self._outage.down or not self._judges_leases():
            return
        for job in Job.objects.recover_stuck():
            logger.warning(
                "job=%s type=%s attempt=%s/%s event=recovered next=%s",
                job.pk,
                job.type,
                job.attempts,
                job.max_attempts,
                job.status,
            )
        WorkerRow.objects.stale().exclude(pk=self.id).delete()

    # --- the Worker row -----------------------------------------------------------------

    def _register_when_reachable(self) -> bool:
        """Write the worker's row, waiting for the database if it is down (a worker restarted
        while PostgreSQL restarts). False when stopped before the database came back. A burst
        run (a cron job, the cron endpoint) does not wait: the error reaches its caller."""
        delay = 0.5
        while not self._stopping.is_set():
            try:
                self._register()
                return True
            except OperationalError as exc:
                if self.burst:
                    raise
                logger.warning(
                    "worker=%s cannot reach the database (%s); trying again in %.1fs",
                    self.id,
                    str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                    delay,
                )
                connection.close()
                self._wake.wait(delay)
                delay = min(delay * 2, 10.0)
        return False

    def _register(self) -> None:
        WorkerRow.objects.update_or_create(
            pk=self.id,
            defaults={
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
                "queues": self.queues,
                "concurrency": self.concurrency,
                "status": WorkerRow.Status.RUNNING,
                "started_at": timezone.now(),
                "last_heartbeat": timezone.now(),
            },
        )

    def _save_row(self) -> None:
        fields = {
            "last_heartbeat": timezone.now(),
            "status": self.status,
            "jobs_running": len(self._active),
            "jobs_succeeded": self.succeeded,
            "jobs_failed": self.failed,
        }
        if not WorkerRow.objects.filter(pk=self.id).update(**fields):
            self._register()
        self._obey(WorkerRow.objects.filter(pk=self.id).values_list("command", flat=True).first())

    def _obey(self, command: str | None) -> None:
        """What staff told this worker from the dashboard or the admin, read at each heartbeat."""
        if command == WorkerRow.Command.STOP and not self._stopping.is_set():
            logger.info("worker=%s told to stop: finishing running jobs", self.id)
            self.stop()
        elif command == WorkerRow.Command.QUIET and not self._quiet:
            logger.info("worker=%s told to go quiet: taking no new jobs", self.id)
            self._quiet = True
        elif not command and self._quiet:
            logger.info("worker=%s taking jobs again", self.id)
            self._quiet = False
            self._wake.set()

    # --- shutdown -----------------------------------------------------------------------

    def _shutdown(self) -> None:
        self._stopping.set()
        self._give_back_ready("Claimed ahead, not started: the worker shut down")
        if self._active:
            logger.info(
                "worker=%s stopping: %s job(s) running, grace period %gs",
                self.id,
                len(self._active),
                0 if self._force else self.grace_period,
            )
            try:
                self._save_row()
            except Exception:
                logger.exception("worker=%s could not record that it is stopping", self.id)
        deadline = time.monotonic() + self.grace_period
        while self._active and not self._force and time.monotonic() < deadline:
            self._wake.clear()
            self._record_successes()
            try:
                self._enforce_timeouts()
            except DatabaseError as exc:
                self._database_lost("waiting for running jobs to finish", exc)
            self._wake.wait(min(0.1, max(0.0, deadline - time.monotonic())))
        self._record_successes()
        with self._lock:
            leftover = [run for run in self._active.values() if not run.completing]
        for run in leftover:
            run.ctx.stop(JobContext.SHUTDOWN)
            run.thread.retired = True
            try:
                released = run.job.release()
            except DatabaseError as exc:
                self._database_lost(f"giving job {run.job.pk} back (its lease will expire)", exc)
                released = False
            if released:
                logger.info(
                    "job=%s type=%s attempt=%s event=released (back in the queue)",
                    run.job.pk,
                    run.job.type,
                    run.job.attempts + 1,
                )
            self._finish(run.job, run, "released")
        self._halt.set()
        for thread in self._threads:
            thread.inbox.put(None)
        deadline = time.monotonic() + 2
        for thread in self._threads:  # each closes its database connection as it ends
            if not thread.retired:
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if self._listener:
            self._listener.stop()
        if self._scheduler:
            self._scheduler.stop()
        if self._health:
            self._health.stop()
        self._heartbeat_thread.join(timeout=5)
        for thread in self._threads:
            if not thread.retired:
                thread.join(timeout=5)
        try:
            WorkerRow.objects.filter(pk=self.id).delete()
        except DatabaseError as exc:
            self._database_lost("removing its row (other workers remove it once stale)", exc)
        logger.info(
            "worker=%s stopped processed=%s succeeded=%s failed=%s",
            self.id,
            self.claimed,
            self.succeeded,
            self.failed,
        )

    def _database_lost(self, doing: str, exc: BaseException) -> None:
        """A database error outside a job: drop the connection and carry on (the next query
        reconnects). A lost connection is an outage, logged once (:class:`Outage`); any other
        error is logged with its traceback."""
        if is_lost_connection(exc):
            self._outage.lost(doing, exc)
        else:
            logger.error(
                "worker=%s database error while %s; carrying on", self.id, doing, exc_info=exc
            )
        connection.close()

    def _judges_leases(self) -> bool:
        """Whether expired leases may be taken back now: not until a lease has passed since
        the database came back, so that workers that lived through the outage renew theirs
        first (a lease lost to an outage would otherwise count as a failed attempt)."""
        back = self._outage.back_at
        return back is None or time.monotonic() - back >= conf.lease_seconds()

    def _install_signals(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous: dict[int, Any] = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, self._on_signal)
        return previous

    def _restore_signals(self, previous: dict[int, Any]) -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    def _on_signal(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if self._stopping.is_set():
            logger.warning("worker=%s second %s: giving running jobs back now", self.id, name)
        else:
            logger.info("worker=%s %s: finishing running jobs, claiming no more", self.id, name)
        self.stop()


GATHER_SECONDS = 0.002
# Jobs that run shorter than this are claimed ahead of free slots (WorkerProcess._ahead) ...
SHORT_JOB_SECONDS = 0.02
# ... and given back if they could not start within this long.
READY_MAX_SECONDS = 0.5
_tidied = threading.local()
TIDY_INTERVAL = 1.0


def _tidy_connections() -> None:
    """``close_old_connections()`` for this thread, at once after a database error and otherwise
    at most once a second: each call makes the next query check the connection with a round
    trip of its own, which would otherwise be one more statement for every job."""
    now = time.monotonic()
    if connection.errors_occurred or now - getattr(_tidied, "at", -TIDY_INTERVAL) >= TIDY_INTERVAL:
        close_old_connections()
        _tidied.at = now


def _ensure_json(result: Any) -> None:
    try:
        check_storable_json(result, what="The result")
        json.dumps(result, allow_nan=False)
    except InvalidPayload as exc:
        raise PermanentError(f"The handler's result cannot be stored: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise PermanentError(f"The handler returned a result that is not JSON: {exc}") from None
