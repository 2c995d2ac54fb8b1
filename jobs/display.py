"""Small formatting helpers shared by the admin and the dashboard (badges, ages, durations,
pretty JSON), and the extension points through which other apps link jobs to what they work on
and make them searchable."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Model, Q
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
    """A job's status as staff think of it: stuck, cancelling and scheduled stand out."""
    now = now or timezone.now()
    if job.status == "running":
        if job.lease_expires_at and job.lease_expires_at < now:
            return status_badge("stuck", "Stuck")
        if job.cancel_requested:
            return status_badge("stuck", "Cancelling")
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


# --- links and search terms that other apps add -------------------------------------------------
#
# The queue knows nothing of what its jobs work for. An app that does (an order, an import, a
# document...) registers a link provider from its ``AppConfig.ready()``:
#
#     def order_links(jobs):          # a page of jobs -> {job id: [(url, label), ...]}
#         ...
#     display.register_link_provider(order_links)
#
# The admin's job page, the job list ("works on") and the dashboard's job panel show the links;
# a provider is called once per page, never once per row. A search provider adds to the job
# admin's search: ``fn(term) -> Q | None``, a filter on ``Job`` for what matches the term.

Link = tuple[str, str]
LinkProvider = Callable[[Sequence[Any]], Mapping[int, Iterable[Link]]]
SearchProvider = Callable[[str], Q | None]

_link_providers: list[LinkProvider] = []
_search_providers: list[SearchProvider] = []
_PREFETCHED = "_display_links"


def register_link_provider(provider: LinkProvider) -> LinkProvider:
    """Add a provider of links (usable as a decorator; registering twice is harmless)."""
    if provider not in _link_providers:
        _link_providers.append(provider)
    return provider


def unregister_link_provider(provider: LinkProvider) -> None:
    if provider in _link_providers:
        _link_providers.remove(provider)


def register_search_provider(provider: SearchProvider) -> SearchProvider:
    if provider not in _search_providers:
        _search_providers.append(provider)
    return provider


def unregister_search_provider(provider: SearchProvider) -> None:
    if provider in _search_providers:
        _search_providers.remove(provider)


def links_for(jobs: Sequence[Any]) -> dict[int, list[Link]]:
    """Every provider's links for these jobs, by job id, in the order providers registered."""
    found: dict[int, list[Link]] = {job.pk: [] for job in jobs}
    if not jobs:
        return found
    for provider in list(_link_providers):
        for pk, links in provider(jobs).items():
            if pk in found:
                found[pk].extend(links)
    return found


def prefetch_links(jobs: Iterable[Any]) -> None:
    """Fetch the links of a page of jobs at once; ``job_links`` then reads them from each job."""
    page = list(jobs)
    links = links_for(page)
    for job in page:
        setattr(job, _PREFETCHED, links.get(job.pk, []))


def job_links(job: Any) -> list[Link]:
    """(url, label) pairs of what the job works on, from the registered providers."""
    prefetched = getattr(job, _PREFETCHED, None)
    if prefetched is not None:
        return prefetched
    return links_for([job])[job.pk]


def search_filter(term: str) -> Q | None:
    """What the search providers match for ``term`` (None when none matches anything)."""
    matched = [q for provider in list(_search_providers) if (q := provider(term)) is not None]
    if not matched:
        return None
    combined = matched[0]
    for q in matched[1:]:
        combined |= q
    return combined
