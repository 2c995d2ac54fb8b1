"""Job types for the benchmark, loaded in our worker with JOBS_HANDLER_MODULES=bench.handlers."""

from __future__ import annotations

from typing import Any

from bench import calls
from jobs.context import JobContext
from jobs.registry import register


@register("bench_http")
def bench_http(payload: dict[str, Any], ctx: JobContext) -> dict[str, int]:
    """One 200 ms call to the local chat server."""
    return {"status": calls.chat_call()}


@register("bench_stamp")
def bench_stamp(payload: dict[str, Any], ctx: JobContext) -> None:
    """Record when the job started (for the latency scenario)."""
    calls.stamp(payload["key"])
