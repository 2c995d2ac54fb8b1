"""Job types of the fault suite, registered in workers via JOBS_HANDLER_MODULES.

``fault_effect`` leaves a side effect per attempt that reports success: one row in
``fault_effects``, written through ``ctx.on_success`` inside the transaction that marks the job
succeeded, and one row in ``fault_effects_naive``, written directly by the handler. The first
table must hold exactly one row per succeeded job whatever happens to the workers; the second
shows what a handler that ignores the fence would do (a frozen worker that comes back writes its
row anyway).
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from django.db import DatabaseError, connection

from jobs import registry
from jobs.context import JobContext
from jobs.exceptions import PermanentError
from jobs.registry import register

EFFECTS = "fault_effects"
NAIVE_EFFECTS = "fault_effects_naive"


def create_effect_tables() -> None:
    """Create (or empty) the side-effect tables in the current database."""
    with connection.cursor() as cursor:
        for table in (EFFECTS, NAIVE_EFFECTS):
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {table} ("
                "job_id bigint NOT NULL, worker varchar(200) NOT NULL, attempt integer NOT NULL)"
            )
            cursor.execute(f"DELETE FROM {table}")


def _write(table: str, job_id: int, worker: str, attempt: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (job_id, worker, attempt) VALUES (%s, %s, %s)",
            [job_id, worker, attempt],
        )


@register("fault_effect", max_attempts=5, user_startable=True)  # users start it in the load test
def effect(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Work for payload["ms"] milliseconds, then leave one side effect if the attempt wins.

    With payload["hang_first_attempt"] (seconds), the first attempt blocks that long without
    looking at its context, like a handler stuck in a C call.
    """
    job_id, worker, attempt = ctx.job.pk, ctx.job.worker_id, ctx.attempt
    hang = payload.get("hang_first_attempt", 0)
    if hang and attempt == 1:
        time.sleep(hang)
    else:
        ctx.sleep(payload.get("ms", 0) / 1000)
    _write(NAIVE_EFFECTS, job_id, worker, attempt)
    ctx.on_success(lambda: _write(EFFECTS, job_id, worker, attempt))
    return {"worker": worker, "attempt": attempt}


@register("fault_progress")
def progress(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Report progress payload["steps"] times, payload["ms"] milliseconds apart (each report
    writes to the database, so an outage reaches the handler as an OperationalError), then
    leave one side effect if the attempt wins. No max_attempts of its own: it gets
    JOBS_DEFAULT_MAX_ATTEMPTS."""
    job_id, worker, attempt = ctx.job.pk, ctx.job.worker_id, ctx.attempt
    steps = payload.get("steps", 10)
    for step in range(steps):
        ctx.progress(100 * step // steps, f"step {step + 1} of {steps}")
        ctx.sleep(payload.get("ms", 100) / 1000)
    _write(NAIVE_EFFECTS, job_id, worker, attempt)
    ctx.on_success(lambda: _write(EFFECTS, job_id, worker, attempt))
    return {"worker": worker, "attempt": attempt}


@register("fault_drop_connection", max_attempts=3)
def drop_connection(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """On its first attempt, cut this thread's own database connection (as a restart of
    PostgreSQL would), then return normally or, with payload["raise"], fail.

    The worker must record the outcome over a fresh connection, not die with the job in hand.
    """
    job_id, worker, attempt = ctx.job.pk, ctx.job.worker_id, ctx.attempt
    if attempt == 1:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        except DatabaseError:
            pass
        if payload.get("raise"):
            raise RuntimeError("failed after losing the database")
    ctx.on_success(lambda: _write(EFFECTS, job_id, worker, attempt))
    return {"attempt": attempt}


UNSTORABLE = "nul \x00 and undecodable \udcff"


@register("fault_unstorable")
def unstorable(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Return, or with payload["raise"] fail with, text a database cannot store: a NUL
    character (PostgreSQL) and a lone surrogate (what undecodable bytes become; both)."""
    if payload.get("raise"):
        raise RuntimeError(UNSTORABLE)
    return {"text": UNSTORABLE}


@register("fault_poison")
def poison(payload: dict[str, Any], ctx: JobContext) -> None:
    """Kill the worker process that runs it (SIGKILL), as a segfault or the OOM killer would.

    payload["spare_pid"] names a process it must never kill (the test run itself)."""
    if os.getpid() == payload["spare_pid"]:
        raise PermanentError("fault_poison runs only in worker processes started by a test")
    os.kill(os.getpid(), signal.SIGKILL)


@register("fault_cancelled_then_fails")
def cancelled_then_fails(payload: dict[str, Any], ctx: JobContext) -> None:
    """Staff cancel it while it runs, and it fails before it looks at its context."""
    ctx.job.cancel()
    raise RuntimeError("failed before seeing the cancel")


@register("fault_ai", max_attempts=12)
def ai_step(payload: dict[str, Any], ctx: JobContext) -> Any:
    """Run the real AI job type payload["type"] on payload["payload"] (cleaned by that type's
    validator), then leave one side effect if the attempt wins: the AI fault scenario counts
    lost and duplicated work like every other scenario."""
    job_type = registry.get(payload["type"])
    result = job_type.handler(job_type.clean(payload["payload"]), ctx)
    job_id, worker, attempt = ctx.job.pk, ctx.job.worker_id, ctx.attempt
    ctx.on_success(lambda: _write(EFFECTS, job_id, worker, attempt))
    return result
