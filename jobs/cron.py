"""Cron expressions, through cronsim (small, typed, no dependencies, maintained by the author
of Healthchecks.io, and correct across daylight-saving changes in a time zone)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"Unknown time zone {name!r}: use a name like UTC or Europe/Paris."
        ) from None


def check(expression: str) -> None:
    """Raise ValueError with a clear message unless ``expression`` is a five-field cron line."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(
            f"{expression!r} is not a cron expression: it needs five fields "
            '(minute hour day-of-month month day-of-week), e.g. "0 3 * * *".'
        )
    try:
        CronSim(expression, datetime(2000, 1, 1))
    except CronSimError as exc:
        raise ValueError(f"{expression!r} is not a valid cron expression: {exc}.") from None


def next_after(expression: str, tz: str, after: datetime) -> datetime:
    """The first tick strictly after ``after``, as an aware datetime."""
    local = after.astimezone(zone(tz)).replace(microsecond=0)
    try:
        return next(CronSim(expression, local))
    except StopIteration:  # e.g. "0 0 30 2 *": never
        raise ValueError(f"{expression!r} never runs.") from None
