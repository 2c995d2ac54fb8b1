"""Job types used only by the tests (registered in test workers via JOBS_HANDLER_MODULES)."""

from __future__ import annotations

import threading
import time
from typing import Any

from jobs.context import JobContext
from jobs.exceptions import PermanentError
from jobs.registry import register


@register("test_echo", user_startable=True)
def echo(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Return the payload; any user may start it (the API tests' job type)."""
    return payload


@register("test_fail")
def fail(payload: dict[str, Any], ctx: JobContext) -> None:
    """Always fails with payload["message"]."""
    raise RuntimeError(payload.get("message", "boom"))


@register("test_fail_permanently")
def fail_permanently(payload: dict[str, Any], ctx: JobContext) -> None:
    raise PermanentError(payload.get("message", "cannot be retried"))


@register("test_flaky")
def flaky(payload: dict[str, Any], ctx: JobContext) -> dict[str, int]:
    """Fails until attempt payload["succeed_on"]."""
    if ctx.attempt < payload["succeed_on"]:
        raise RuntimeError(f"flaky failure on attempt {ctx.attempt}")
    return {"attempt": ctx.attempt}


@register("test_hang")
def hang(payload: dict[str, Any], ctx: JobContext) -> str:
    """Blocks without ever checking its context (a handler stuck in a C call)."""
    time.sleep(payload.get("seconds", 3600))
    return "woke up"


@register("test_not_json")
def not_json(payload: dict[str, Any], ctx: JobContext) -> object:
    return object()


@register("test_steps")
def steps(payload: dict[str, Any], ctx: JobContext) -> dict[str, int]:
    """Reports progress through payload["steps"] steps of payload["seconds"] each."""
    count = int(payload.get("steps", 4))
    for step in range(count):
        ctx.progress(step * 100 // count, f"Step {step + 1} of {count}")
        ctx.sleep(float(payload.get("seconds", 0.5)))
    return {"steps": count}


@register("test_held")
def held(payload: dict[str, Any], ctx: JobContext) -> dict[str, int]:
    """Held (``JobHeld``) while the file ``payload["gate"]`` does not exist; then succeeds."""
    from pathlib import Path

    from jobs.exceptions import JobHeld

    if not Path(payload["gate"]).exists():
        raise JobHeld("waiting for the gate", until=None)
    return {"attempt": ctx.attempt}


@register("test_rate_limited")
def rate_limited(payload: dict[str, Any], ctx: JobContext) -> dict[str, bool]:
    """Like an AI call answered 429 with Retry-After: hold the queue, unless told it passed."""
    if payload.get("hold_seconds"):
        ctx.hold_queue(payload["hold_seconds"], "OpenAI answered 429 (Retry-After)")
    return {"ok": True}


#: Gates the ``test_gate`` jobs of an in-process worker wait on, by name.
GATES: dict[str, threading.Event] = {}


@register("test_gate")
def gate(payload: dict[str, Any], ctx: JobContext) -> dict[str, bool]:
    """Runs until the test opens ``GATES[payload["gate"]]`` (a worker in the test's process)."""
    if not GATES[payload["gate"]].wait(payload.get("seconds", 30)):
        raise RuntimeError("the gate was never opened")
    return {"opened": True}


@register("test_count_claimed")
def count_claimed(payload: dict[str, Any], ctx: JobContext) -> dict[str, int]:
    """After ``payload["seconds"]``: how many jobs its worker holds (running, in the database),
    counting itself."""
    from jobs.models import Job

    time.sleep(payload.get("seconds", 0))
    held = Job.objects.filter(worker_id=ctx.job.worker_id, status=Job.Status.RUNNING).count()
    return {"held": held}
