"""Template filters for the dashboard: badges, ages and durations."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils.safestring import SafeString

from jobs import display

register = template.Library()


@register.filter
def job_badge(job: Any) -> SafeString:
    return display.job_badge(job)


@register.filter
def badge(state: str, label: str = "") -> SafeString:
    return display.status_badge(state, label or None)


@register.filter
def since(moment: datetime | None) -> str:
    return display.since(moment)


@register.filter
def duration(value: timedelta | None) -> str:
    return display.duration_text(value)


@register.filter
def running_for(job: Any) -> str:
    """How long a running job has run so far (its last attempt)."""
    if not job.started_at:
        return "—"
    return display.since(job.started_at).removesuffix(" ago")


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@register.filter
def pretty(value: Any) -> str:
    """JSON, indented, for a <pre> (escaped by the template)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@register.filter
def links(job: Any) -> list[tuple[str, str]]:
    """Links to what a job works on, from the link providers other apps register."""
    return display.job_links(job)
