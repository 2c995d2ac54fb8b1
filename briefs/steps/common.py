"""What the steps of the briefs app share: loading a brief, describing it to a model, naming
the files a step makes, labelling a result with the model that made it."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from briefs import ai, prompts
from briefs.models import Artifact, Brief
from briefs.services import artifacts_replace
from jobs.exceptions import PermanentError

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


#: The artifact that holds each step's whole result (a document, or a file with its details).
PRIMARY_KIND = {
    "analysis": Artifact.Kind.ANALYSIS,
    "storyboard": Artifact.Kind.STORYBOARD,
    "asset_prep": Artifact.Kind.ASSET_REPORT,
    "text_analysis": Artifact.Kind.TEXT_ANALYSIS,
    "image_processing": Artifact.Kind.IMAGE,
    "video_generation": Artifact.Kind.VIDEO,
    "render": Artifact.Kind.RENDER_DOCUMENT,
    "video_slim": Artifact.Kind.SLIM_VIDEO,
}


def earlier_results(brief: Brief) -> dict[str, Any]:
    """What each earlier step of the brief made, from its current artifacts (never from job
    rows, which may have been pruned): ``{step: result}``."""
    results: dict[str, Any] = {}
    for artifact in brief.artifacts.filter(current=True).order_by("id"):
        if PRIMARY_KIND.get(artifact.step) == artifact.kind:
            results[artifact.step] = (
                artifact.document if artifact.document is not None else artifact.meta
            )
    return results


def keep(ctx: JobContext, brief: Brief, outputs: list[dict[str, Any]]) -> None:
    """Save ``outputs`` as the brief's artifacts of this step in the transaction that marks the
    job succeeded (see :func:`briefs.services.artifacts_replace`)."""
    job = ctx.job

    def save() -> None:
        artifacts_replace(brief=brief, step=job.type, job=job, outputs=outputs)

    ctx.on_success(save)


def document(kind: str, name: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "name": name, "content_type": "application/json", "document": data}


def stored_file(
    kind: str, name: str, content_type: str, meta: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "kind": kind,
        "name": PurePosixPath(name).name,
        "content_type": content_type,
        "file": name,
        "meta": meta or {},
    }


def ai_label(result: ai.AIResult, prompt: prompts.Prompt | None = None) -> dict[str, Any]:
    label: dict[str, Any] = dict(result.label)
    if prompt is not None:
        label["prompt_version"] = prompt.version
    return label


def generated_name(brief: Brief, ctx: JobContext, kind: str, suffix: str) -> str:
    return f"briefs/{brief.pk}/{kind}/job-{ctx.job.pk}-{uuid.uuid4().hex[:8]}{suffix}"
