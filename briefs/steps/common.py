"""What the steps of the briefs app share: loading a brief, describing it to a model, naming
the files a step makes, labelling a result with the model that made it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from briefs import ai, prompts
from briefs.models import Brief
from jobs.exceptions import PermanentError
from jobs.models import Job

if TYPE_CHECKING:
    from jobs.context import JobContext


def load_brief(payload: dict[str, Any]) -> Brief:
    brief = Brief.objects.select_related("owner").filter(pk=payload["brief_id"]).first()
    if brief is None:
        raise PermanentError(f"Brief #{payload['brief_id']} no longer exists.")
    if brief.media_type not in Brief.MediaType.values:
        raise PermanentError(
            f"Brief #{brief.pk} has the unknown media type {brief.media_type!r}; "
            f"use one of {', '.join(Brief.MediaType.values)} and requeue."
        )
    return brief


def brief_text(brief: Brief) -> str:
    lines = [
        f"Title: {brief.title}",
        f"Media type: {brief.media_type}",
        f"Request: {brief.query}",
    ]
    if brief.description:
        lines.append(f"Details: {brief.description}")
    for index, asset in enumerate(brief.assets or [], start=1):
        if isinstance(asset, dict):
            lines.append(f"Asset {index}: {asset.get('kind')} {asset.get('name', '')}")
    return "\n".join(lines)


def earlier_results(brief: Brief) -> dict[str, Any]:
    """The latest successful result of each job type of the brief."""
    results: dict[str, Any] = {}
    jobs = brief.jobs.filter(status=Job.Status.SUCCEEDED).order_by("finished_at", "id")
    for job in jobs.only("type", "result"):
        results[job.type] = job.result
    return results


def ai_label(result: ai.AIResult, prompt: prompts.Prompt | None = None) -> dict[str, Any]:
    label: dict[str, Any] = dict(result.label)
    if prompt is not None:
        label["prompt_version"] = prompt.version
    return label


def generated_name(brief: Brief, ctx: JobContext, kind: str, suffix: str) -> str:
    return f"briefs/{brief.pk}/{kind}/job-{ctx.job.pk}-{uuid.uuid4().hex[:8]}{suffix}"
