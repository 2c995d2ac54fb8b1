"""``/api/briefs``: create briefs, start their jobs, read them back with their status, jobs,
outputs, transcript and SOP; ``/api/uploads`` stores a file for a brief; ``/api/transcripts``,
``/api/sops`` and ``/api/outputs/{id}/download``."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.http import content_disposition_header
from ninja import Field, File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from api import access
from api.errors import COMMON_ERRORS, ApiError, ErrorOut
from api.jobs import job_out, poll_after, status_url
from api.schemas import (
    AssetIn,
    BriefIn,
    BriefIntegrateIn,
    BriefListOut,
    BriefOut,
    BriefStartOut,
    Id,
    SOPOut,
    TranscriptOut,
    UploadOut,
)
from briefs import selectors, services, serving, sops
from briefs.exceptions import QuotaExceeded
from briefs.models import SOP, Artifact, Brief, Transcript
from briefs.spend import selectors as spend
from jobs.models import Job
from jobs.redact import public_text

router = Router(tags=["briefs"])
uploads = Router(tags=["briefs"])
results = Router(tags=["briefs"])

START_ERRORS: dict[int, Any] = {
    **COMMON_ERRORS,
    402: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    429: ErrorOut,
}


def brief_url(brief_id: int) -> str:
    return f"/api/briefs/{brief_id}"


def transcript_out(transcript: Transcript) -> dict[str, Any]:
    return {
        "id": transcript.pk,
        "brief_id": transcript.brief_id,
        "job_id": transcript.job_id,
        "language": transcript.language,
        "model": transcript.model,
        "prompt_version": transcript.prompt_version,
        "created_at": transcript.created_at,
        "segments": transcript.segments if isinstance(transcript.segments, list) else [],
        "text": transcript.text,
    }


def sop_out(sop: SOP, which: str = "approved") -> dict[str, Any]:
    """The SOP at one version: the approved one by default (the latest while none is)."""
    try:
        version = sops.version_for(sop, which)
    except sops.SOPError as exc:
        if which.isdigit():
            raise ApiError(404, "not_found", str(exc)) from exc
        raise ApiError(422, "invalid_request", str(exc), field="version") from exc
    latest = sops.latest_version(sop)
    data = version.data if isinstance(version.data, dict) else {}
    return {
        "id": sop.pk,
        "brief_id": sop.brief_id,
        "job_id": sop.job_id,
        "transcript_id": sop.transcript_id,
        "title": str(data.get("title") or sop.title),
        "data": data,
        "model": sop.model,
        "prompt_version": sop.prompt_version,
        "created_at": sop.created_at,
        "version": version.number,
        "review_state": sops.state_of(sop, version),
        "latest_version": latest.number,
        "approved_version": sop.approved_version.number if sop.approved_version else None,
        "version_created_at": version.created_at,
    }


def download_url(artifact: Artifact) -> str:
    return reverse("api:download_output", kwargs={"artifact_id": artifact.pk})


def output_out(artifact: Artifact) -> dict[str, Any]:
    return {
        "id": artifact.pk,
        "kind": artifact.kind,
        "name": artifact.name,
        "content_type": artifact.content_type,
        "size": artifact.size,
        "download_url": download_url(artifact),
        "step": artifact.step,
        "job_id": artifact.job_id,
        "created_at": artifact.created_at,
    }


def brief_out(brief: Brief) -> dict[str, Any]:
    jobs = list(selectors.with_brief_id(selectors.brief_jobs(brief=brief)))
    transcript = brief.transcripts.order_by("-created_at", "-id").first()
    sop = brief.sops.order_by("-created_at", "-id").first()
    usage = spend.usage_by_job([job.pk for job in jobs])
    totals = spend.for_brief(brief.pk)
    return {
        "id": brief.pk,
        "title": brief.title,
        "description": brief.description,
        "query": brief.query,
        "media_type": brief.media_type,
        "assets": brief.assets if isinstance(brief.assets, list) else [],
        "status": brief.status,
        "failure_reason": public_text(brief.failure_reason),
        "created_at": brief.created_at,
        "updated_at": brief.updated_at,
        "status_url": brief_url(brief.pk),
        "jobs": [job_out(job, usage.get(job.pk, spend.EMPTY)) for job in jobs],
        "cost": totals["cost"],
        "usage_by_model": totals["by_model"],
        "outputs": [output_out(artifact) for artifact in selectors.brief_outputs(brief=brief)],
        "transcript": transcript_out(transcript) if transcript else None,
        "sop": sop_out(sop) if sop else None,
    }


def started(brief: Brief, jobs: list[Job]) -> dict[str, Any]:
    return {
        "brief_id": brief.pk,
        "status": Brief.Status.PROCESSING,
        "status_url": brief_url(brief.pk),
        "jobs": [
            {
                "job_id": job.pk,
                "status": job.status,
                "status_url": status_url(job.pk),
                "poll_after": poll_after(job),
            }
            for job in jobs
        ],
    }


def checked_assets(user: Any, assets: list[AssetIn | str]) -> list[Any]:
    """Assets as the briefs service takes them. A user may name only files they uploaded."""
    prefix = f"briefs/uploads/{user.pk}/"
    cleaned: list[Any] = []
    for index, asset in enumerate(assets, start=1):
        if isinstance(asset, str):
            cleaned.append(asset)
            continue
        item = asset.dict(exclude_none=True)
        name = item.get("file")
        if name is not None:
            parts = name.split("/")
            mine = name.startswith(prefix) or access.can(user, "briefs.change_brief")
            if not mine or ".." in parts or name.startswith("/"):
                raise ApiError(
                    422,
                    "invalid_request",
                    f"Asset {index}: 'file' must be a file you uploaded with POST /api/uploads.",
                    field=f"assets.{index - 1}.file",
                )
        cleaned.append(item)
    return cleaned


class BriefListParams(Schema):
    status: Brief.Status | None = None
    limit: int = Field(50, ge=1, le=200)


@router.get("", response={200: BriefListOut, **COMMON_ERRORS})
def list_briefs(request: HttpRequest, params: Query[BriefListParams]) -> Any:
    """The caller's briefs, newest first (staff: everyone's)."""
    briefs = access.visible(Brief.objects.all(), request.auth)  # type: ignore[attr-defined]
    if params.status:
        briefs = briefs.filter(status=params.status)
    rows = [
        {
            "id": brief.pk,
            "title": brief.title,
            "media_type": brief.media_type,
            "status": brief.status,
            "created_at": brief.created_at,
            "status_url": brief_url(brief.pk),
        }
        for brief in briefs.order_by("-created_at", "-id")[: params.limit]
    ]
    return {"count": len(rows), "briefs": rows}


@router.post("", response={201: BriefOut, **START_ERRORS})
def create_brief(request: HttpRequest, data: BriefIn) -> Any:
    """Create a brief. With `use_pipeline` its whole pipeline starts at once; with `start`
    (and no pipeline) its analysis step. Nothing is written if any part is refused."""
    user = request.auth  # type: ignore[attr-defined]
    if data.use_pipeline and data.start is False:
        raise ApiError(
            422,
            "invalid_request",
            "use_pipeline starts the brief; leave out start, or set use_pipeline to false.",
            field="start",
        )
    start = data.use_pipeline if data.start is None else data.start
    assets = checked_assets(user, data.assets)
    with access.job_limit(user):
        brief = services.brief_create(
            owner=user,
            title=data.title,
            query=data.query,
            media_type=data.media_type,
            description=data.description,
            assets=assets,
        )
        if start:
            services.brief_start(
                brief=brief, use_pipeline=data.use_pipeline, storyboard=data.storyboard
            )
    return Status(201, brief_out(brief))


@router.post("/integrate", response={202: BriefStartOut, **START_ERRORS})
def integrate_brief(request: HttpRequest, data: BriefIntegrateIn) -> Any:
    """Start the jobs of an existing brief: its analysis, or with `use_pipeline` its media
    type's whole pipeline (each step waits for the one before)."""
    user = request.auth  # type: ignore[attr-defined]
    brief = access.get_visible(Brief.objects.all(), user, data.brief_id, what="Brief")
    access.require_for_owned(user, brief, "briefs.change_brief", "start other users' briefs")
    with access.job_limit(user):
        jobs = services.brief_start(
            brief=brief, use_pipeline=data.use_pipeline, storyboard=data.storyboard
        )
    return Status(202, started(brief, jobs))


@router.get("/{brief_id}", response={200: BriefOut, **COMMON_ERRORS, 404: ErrorOut})
def get_brief(request: HttpRequest, brief_id: Id) -> Any:
    """A brief with its status, its jobs, its outputs (each with a `download_url`), newest
    transcript and SOP. The status and outputs stay when old jobs are pruned."""
    brief = access.get_visible(Brief.objects.all(), request.auth, brief_id, what="Brief")  # type: ignore[attr-defined]
    return brief_out(brief)


@router.post("/{brief_id}/sop", response={202: BriefStartOut, **START_ERRORS})
def start_sop(request: HttpRequest, brief_id: Id) -> Any:
    """Make an SOP from the brief's uploaded video: slim it, transcribe it, extract the SOP."""
    user = request.auth  # type: ignore[attr-defined]
    brief = access.get_visible(Brief.objects.all(), user, brief_id, what="Brief")
    access.require_for_owned(user, brief, "briefs.change_brief", "start other users' briefs")
    with access.job_limit(user):
        jobs = services.brief_start_sop(brief=brief)
    return Status(202, started(brief, jobs))


@uploads.post("", response={201: UploadOut, **COMMON_ERRORS, 413: ErrorOut})
def upload(
    request: HttpRequest,
    file: File[UploadedFile],
    kind: Form[str | None] = None,
) -> Any:
    """Store a file (multipart field `file`) for a brief; put the answer in the brief's
    `assets`. `kind` (video, image, audio, text) is guessed from the name when not given.
    The content must be a plain file of that kind (a video ffmpeg reads as MP4, MKV/WebM,
    AVI, …; an image PNG, JPEG, GIF, WebP, …; UTF-8 text): anything else, a playlist for one,
    is refused with 422. The stored name is ours. Over the caller's storage quota: 413."""
    try:
        services.asset_check_upload(file=file, kind=kind)
    except services.UploadRefused as exc:
        code = "too_large" if exc.status == 413 else "invalid_request"
        raise ApiError(exc.status, code, str(exc), field=exc.field) from exc
    try:
        asset = services.asset_store_upload(owner=request.auth, file=file, kind=kind)  # type: ignore[attr-defined]
    except QuotaExceeded as exc:
        raise ApiError(413, "quota_exceeded", str(exc), field="file") from None
    return Status(201, asset)


@results.get(
    "/transcripts/{transcript_id}", response={200: TranscriptOut, **COMMON_ERRORS, 404: ErrorOut}
)
def get_transcript(request: HttpRequest, transcript_id: Id) -> Any:
    transcript = access.get_visible(
        Transcript.objects.all(),
        request.auth,  # type: ignore[attr-defined]
        transcript_id,
        what="Transcript",
        owner_field="brief__owner",
    )
    return transcript_out(transcript)


class SOPVersionParams(Schema):
    version: str = Field(
        "approved",
        pattern=r"^(approved|latest|[1-9][0-9]{0,8})$",
        description="`approved` (default: the approved version, or the latest while none "
        "is), `latest`, or a version number.",
    )


@results.get("/sops/{sop_id}", response={200: SOPOut, **COMMON_ERRORS, 404: ErrorOut})
def get_sop(request: HttpRequest, sop_id: Id, params: Query[SOPVersionParams]) -> Any:
    """An SOP: by default its approved version; `?version=latest` for the newest edit."""
    sop = access.get_visible(SOP.objects.all(), request.auth, sop_id, what="SOP")  # type: ignore[attr-defined]
    return sop_out(sop, params.version)


@results.get(
    "/outputs/{artifact_id}/download",
    response={**COMMON_ERRORS, 404: ErrorOut},
    openapi_extra=serving.OPENAPI_FILE,
    url_name="download_output",
)
def download_output(request: HttpRequest, artifact_id: Id) -> Any:
    """One output of a brief: the stored file (HTTP `Range` requests honoured, so a player can
    seek), or the JSON document. Only the brief's owner (and staff) may download it; anyone
    else gets 404."""
    artifact = access.get_visible(
        Artifact.objects.all(),
        request.auth,  # type: ignore[attr-defined]
        artifact_id,
        what="Output",
        owner_field="brief__owner",
        part_of=Brief,  # staff who may view briefs may download what they made
    )
    if not artifact.file:
        response: HttpResponse = JsonResponse(artifact.document, safe=False)
        response["Content-Disposition"] = content_disposition_header(True, artifact.name)
        return response
    if not default_storage.exists(artifact.file.name):
        raise ApiError(404, "not_found", f"The file of output #{artifact.pk} is missing.")
    return serving.serve(
        request,
        artifact.file.name,
        filename=artifact.name,
        content_type=artifact.content_type,
        attachment=True,
    )
