"""Read-only queries for pages and the API: a user's briefs and what was made of them.

Every function that takes ``user`` returns only that user's rows (staff pages pass
``user=None`` to see everyone's).
"""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from briefs.models import SOP, Artifact, Brief, BriefJob, Transcript


def brief_list(*, user: Any = None) -> QuerySet[Brief]:
    """Briefs with their owners (the status is a stored field)."""
    briefs = Brief.objects.select_related("owner")
    return briefs if user is None else briefs.filter(owner=user)


def brief_detail(*, pk: int, user: Any = None) -> Brief | None:
    """One brief with its job links (oldest first), current outputs, transcripts and SOPs
    prefetched."""
    return (
        brief_list(user=user)
        .prefetch_related(
            Prefetch("job_links", queryset=BriefJob.objects.select_related("job").order_by("id")),
            Prefetch("artifacts", queryset=Artifact.objects.filter(current=True).order_by("id")),
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


def brief_outputs(*, brief: Brief) -> list[Artifact]:
    """The brief's current artifacts, oldest first."""
    return list(brief.artifacts.filter(current=True).order_by("id"))


def brief_jobs(*, brief: Brief) -> QuerySet[Any]:
    """The brief's jobs that still exist (pruned ones are gone), oldest first."""
    from jobs.models import Job

    return Job.objects.filter(brief_links__brief=brief).order_by("created_at", "id")


def with_brief_id(jobs: QuerySet[Any]) -> QuerySet[Any]:
    """Annotate ``linked_brief_id``: the brief each job works for (None for other jobs)."""
    link = BriefJob.objects.filter(job_id=OuterRef("pk")).values("brief_id")[:1]
    return jobs.annotate(linked_brief_id=Subquery(link))


def brief_id_of(job: Any) -> int | None:
    """The brief a job works for, from the annotation of :func:`with_brief_id` if present."""
    if "linked_brief_id" in job.__dict__:
        return job.linked_brief_id
    return BriefJob.objects.filter(job_id=job.pk).values_list("brief_id", flat=True).first()
