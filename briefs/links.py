"""What a job works on, for the queue's staff surfaces (the job admin and the dashboard).

The queue knows nothing of briefs. This module gives it, through ``jobs.display``'s extension
points (registered in ``BriefsConfig.ready()``):

- ``job_links(jobs)``: for each job of a brief job type, links to its brief (found by the job's
  ``payload["brief_id"]``), to the transcript and the SOP the job made (``Transcript.job``,
  ``SOP.job``), or else to the brief's latest ones. Three queries for a whole page of jobs.
- ``search_jobs(term)``: the jobs of briefs whose title contains the term.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import OuterRef, Q, Subquery
from django.db.models.fields.json import KT
from django.urls import reverse

from briefs.models import SOP, Brief, Transcript
from jobs import registry
from jobs.models import Job

Link = tuple[str, str]
SEARCH_LIMIT = 1000  # briefs matched by one search term
MAX_ID = 2**63 - 1  # the largest primary key a database stores


def brief_job_types() -> set[str]:
    """The job types whose handlers live in this app (whatever module registers them)."""
    return {
        job_type.name
        for job_type in registry.all_types()
        if getattr(job_type.handler, "__module__", "").partition(".")[0] == "briefs"
    }


def _brief_id(value: Any) -> int | None:
    """A payload's ``brief_id`` as an id, or None for anything else (payloads are untrusted)."""
    if isinstance(value, str) and value.isdigit() and len(value) < 20:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 < value <= MAX_ID else None


def _brief_ids(jobs: Sequence[Any], types: set[str]) -> dict[int, int]:
    """Job id -> brief id, for the jobs of brief types (one query if payloads were deferred)."""
    found: dict[int, int] = {}
    deferred: list[int] = []
    for job in jobs:
        if job.type not in types:
            continue
        if "payload" in job.get_deferred_fields():
            deferred.append(job.pk)
        elif isinstance(job.payload, dict) and (brief_id := _brief_id(job.payload.get("brief_id"))):
            found[job.pk] = brief_id
    if deferred:
        rows = (
            Job.objects.filter(pk__in=deferred)
            .annotate(brief_ref=KT("payload__brief_id"))
            .values_list("pk", "brief_ref")
        )
        for pk, value in rows:
            if brief_id := _brief_id(value):
                found[pk] = brief_id
    return found


def _made_by(model: type[Transcript] | type[SOP], job_ids: Iterable[int]) -> dict[int, int]:
    """Job id -> id of the newest row of ``model`` that the job made."""
    made: dict[int, int] = {}
    rows = model.objects.filter(job_id__in=list(job_ids)).order_by("-created_at", "-id")
    for pk, job_id in rows.values_list("pk", "job_id"):
        made.setdefault(job_id, pk)
    return made


def _latest(model: type[Transcript] | type[SOP]) -> Subquery:
    newest = model.objects.filter(brief=OuterRef("pk")).order_by("-created_at", "-id")
    return Subquery(newest.values("pk")[:1])


def job_links(jobs: Sequence[Any]) -> dict[int, list[Link]]:
    """Links from each job of a brief to its brief, transcript and SOP (see the module doc)."""
    brief_of = _brief_ids(jobs, brief_job_types())
    if not brief_of:
        return {}
    briefs = {
        brief.pk: brief
        for brief in Brief.objects.filter(pk__in=set(brief_of.values()))
        .annotate(latest_transcript=_latest(Transcript), latest_sop=_latest(SOP))
        .only("pk", "title")
    }
    transcripts = _made_by(Transcript, brief_of)
    sops = _made_by(SOP, brief_of)
    links: dict[int, list[Link]] = {}
    for job_pk, brief_id in brief_of.items():
        brief = briefs.get(brief_id)
        if brief is None:  # the brief was deleted; the job stays as history
            continue
        found = [(reverse("admin:briefs_brief_change", args=[brief.pk]), f"Brief: {brief}")]
        transcript = transcripts.get(job_pk, brief.latest_transcript)
        if transcript is not None:
            url = reverse("admin:briefs_transcript_change", args=[transcript])
            found.append((url, f"Transcript #{transcript}"))
        sop = sops.get(job_pk, brief.latest_sop)
        if sop is not None:
            found.append((reverse("admin:briefs_sop_change", args=[sop]), f"SOP #{sop}"))
        links[job_pk] = found
    return links


def search_jobs(term: str) -> Q | None:
    """The jobs of briefs whose title contains ``term`` (None when no brief matches)."""
    ids = list(
        Brief.objects.filter(title__icontains=term)
        .order_by("-pk")
        .values_list("pk", flat=True)[:SEARCH_LIMIT]
    )
    if not ids:
        return None
    return Q(type__in=sorted(brief_job_types()), payload__brief_id__in=ids)
