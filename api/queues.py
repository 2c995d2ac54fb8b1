"""``/api/queues``: list queues, pause and resume them, set their limits, release holds.

Staff only, and each change needs its Django permission (``jobs.pause_queue``,
``jobs.limit_queue``), as in the admin and on the dashboard."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from api import access
from api.errors import COMMON_ERRORS, ApiError, ErrorOut
from jobs import insight
from jobs import queues as controls

router = Router(tags=["queues"])

QueueName = Field(..., min_length=1, max_length=100, pattern=r"^[\w.:-]+$")


class QueueOut(Schema):
    name: str
    ready: int
    blocked: int = Field(description="Due, but waiting on an earlier step (a dependency).")
    scheduled: int = Field(description="Not due yet (delayed, or a retry's backoff).")
    running: int
    paused: bool
    paused_by: str
    paused_at: datetime | None
    pause_reason: str
    concurrency_limit: int | None
    rate_limit: int | None
    rate_period: float | None
    held_until: datetime | None
    hold_reason: str


class PauseIn(Schema):
    reason: str = Field("", max_length=500)


class LimitsIn(Schema):
    concurrency: int | None = Field(None, ge=1, le=100_000, description="null: no limit")
    rate: str | None = Field(
        None, max_length=50, description="Starts per period: 30/minute, 5/2s, 100/h. null: none"
    )


def _require(request: HttpRequest, permission: str, action: str) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    access.require(user, permission, action)
    return user


def _out(name: str) -> dict[str, Any]:
    for summary in insight.queue_summaries():
        if summary.name == name:
            return summary.as_dict()
    raise AssertionError(f"queue {name} has a record, so it is listed")


def _check(name: str) -> str:
    try:
        return controls.check_name(name)
    except ValueError as exc:
        raise ApiError(422, "invalid_name", str(exc), field="name", location="path") from None


@router.get("", response={200: list[QueueOut], **COMMON_ERRORS})
def list_queues(request: HttpRequest) -> Any:
    """Every queue with its depth, pause state, limits and hold (``jobs.view_queue``)."""
    access.require(request.auth, "jobs.view_queue", "see queues")  # type: ignore[attr-defined]
    return [summary.as_dict() for summary in insight.queue_summaries()]


@router.post("/{name}/pause", response={200: QueueOut, **COMMON_ERRORS, 422: ErrorOut})
def pause_queue(request: HttpRequest, name: str, data: PauseIn | None = None) -> Any:
    """Stop new claims from the queue on every worker (running jobs finish)."""
    user = _require(request, "jobs.pause_queue", "pause queues")
    controls.queue_pause(
        name=_check(name), by=user.get_username(), reason=data.reason if data else ""
    )
    return _out(name)


@router.post("/{name}/resume", response={200: QueueOut, **COMMON_ERRORS, 422: ErrorOut})
def resume_queue(request: HttpRequest, name: str) -> Any:
    """Let workers take the queue's jobs again (they are woken at once)."""
    _require(request, "jobs.pause_queue", "resume queues")
    controls.queue_resume(name=_check(name))
    return _out(name)


@router.post("/{name}/release", response={200: QueueOut, **COMMON_ERRORS, 422: ErrorOut})
def release_queue(request: HttpRequest, name: str) -> Any:
    """End a hold (AI backpressure) before its time."""
    _require(request, "jobs.pause_queue", "release held queues")
    controls.queue_release_hold(name=_check(name))
    return _out(name)


@router.put("/{name}/limits", response={200: QueueOut, **COMMON_ERRORS, 422: ErrorOut})
def set_limits(request: HttpRequest, name: str, data: LimitsIn) -> Any:
    """Set the global concurrency limit and the rate limit (null clears each)."""
    _require(request, "jobs.limit_queue", "set queue limits")
    starts = period = None
    if data.rate:
        try:
            starts, period = controls.parse_rate(data.rate)
        except ValueError as exc:
            raise ApiError(422, "invalid_rate", str(exc), field="rate") from None
    controls.queue_set_limits(
        name=_check(name), concurrency=data.concurrency, rate=starts, period=period
    )
    return _out(name)
