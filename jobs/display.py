"""Small formatting helpers shared by the admin and the dashboard: badges, ages, durations,
pretty JSON, and links from a job to what it works on."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Model
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

# Badge colours by state (job statuses, attempt outcomes, worker health).
BADGE_KINDS = {
    "queued": "info",
    "scheduled": "muted",
    "running": "active",
    "succeeded": "ok",
    "failed": "bad",
    "cancelled": "muted",
    "stuck": "warn",
    "held": "warn",
    "lost": "warn",
    "released": "muted",
    "alive": "ok",
    "stopping": "warn",
    "dead": "bad",
}


def status_badge(state: str, label: str | None = None) -> SafeString:
    kind = BADGE_KINDS.get(state, "muted")
    return format_html(
        '<span class="job-badge job-badge--{}" data-state="{}">{}</span>',
        kind,
        state,
        label or state.capitalize(),
    )


def job_badge(job: Any, *, now: datetime | None = None) -> SafeString:
    """A job's status as staff think of it: stuck, cancelling, held and scheduled stand out."""
    now = now or timezone.now()
    if job.status == "running":
        if job.lease_expires_at and job.lease_expires_at < now:
            return status_badge("stuck", "Stuck")
        if job.cancel_requested:
            return status_badge("stuck", "Cancelling")
    if job.status == "queued" and getattr(job, "held_reason", ""):
        return status_badge("held", f"held: {job.held_reason}")
    if job.status == "queued" and job.run_at > now:
        return status_badge("scheduled", "Scheduled")
    return status_badge(job.status, job.get_status_display())


def duration_text(value: timedelta | None) -> str:
    """1.2s, 3m 04s, 2h 05m, 3d 4h: short and exact enough to compare at a glance."""
    if value is None:
        return "—"
    seconds = max(0.0, value.total_seconds())
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def since(moment: datetime | None, *, now: datetime | None = None) -> str:
    """How long ago: "4.2s ago", "3m 10s ago"; "in 20s" for a moment still to come."""
    if moment is None:
        return "—"
    delta = (now or timezone.now()) - moment
    if delta < timedelta(0):
        return f"in {duration_text(-delta)}"
    return f"{duration_text(delta)} ago"


def pretty_json(value: Any) -> SafeString:
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html('<pre class="job-json">{}</pre>', text)


def admin_change_url(obj: Model) -> str:
    meta = obj._meta
    try:
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return ""


def job_links(job: Any) -> list[tuple[str, str]]:
    """(admin url, label) for the brief a job works for, and for the transcript and SOP the job
    made (or else the brief's latest ones)."""
    links: list[tuple[str, str]] = []
    brief = job.brief if job.brief_id else None
    if brief is None:
        return links
    if url := admin_change_url(brief):
        links.append((url, f"Brief: {brief}"))
    for related, label in (("transcripts", "Transcript"), ("sops", "SOP")):
        made = _latest(job, related) or _latest(brief, related)
        if made is not None and (url := admin_change_url(made)):
            links.append((url, f"{label} #{made.pk}"))
    return links


def _latest(obj: Model, related_name: str) -> Model | None:
    """The newest row of a reverse relation, if the model has that relation."""
    manager = getattr(obj, related_name, None)
    if manager is None:
        return None
    return manager.order_by("-created_at", "-id").first()
