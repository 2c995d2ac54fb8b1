"""Read-only queries for pages and the API: a user's briefs and what was made of them.

Every function that takes ``user`` returns only that user's rows (staff pages pass
``user=None`` to see everyone's).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from briefs.models import SOP, Brief, Transcript
from jobs.models import Job


def brief_list(*, user: Any = None) -> QuerySet[Brief]:
    """Briefs with their derived status annotated (``brief.status`` costs no query)."""
    briefs = Brief.objects.with_status().select_related("owner")
    return briefs if user is None else briefs.filter(owner=user)


def brief_detail(*, pk: int, user: Any = None) -> Brief | None:
    """One brief with its jobs (oldest first), transcripts and SOPs prefetched."""
    return (
        brief_list(user=user)
        .prefetch_related(
            Prefetch("jobs", queryset=Job.objects.order_by("created_at", "id")),
            Prefetch("transcripts", queryset=Transcript.objects.order_by("-created_at")),
            Prefetch("sops", queryset=SOP.objects.order_by("-created_at")),
        )
        .filter(pk=pk)
        .first()
    )


def sop_list(*, user: Any = None) -> QuerySet[SOP]:
    sops = SOP.objects.select_related("brief", "transcript")
    return sops if user is None else sops.filter(owner=user)


def transcript_list(*, user: Any = None) -> QuerySet[Transcript]:
    transcripts = Transcript.objects.select_related("brief")
    return transcripts if user is None else transcripts.filter(brief__owner=user)
