"""``/api/sops/{id}/export`` and ``/api/transcripts/{id}/export``: an SOP as Markdown, HTML or
PDF, a transcript as WebVTT, SRT or text. The owner and staff only; anyone else gets 404."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from api import access
from api.errors import COMMON_ERRORS, ApiError, ErrorOut
from api.schemas import Id
from briefs import exports, sops
from briefs.models import SOP, Transcript

router = Router(tags=["briefs"])

ERRORS: dict[int, Any] = {**COMMON_ERRORS, 404: ErrorOut}


def _file_response(types: dict[str, tuple[str, str]]) -> dict[str, Any]:
    content = {mime.split(";")[0]: {"schema": {"type": "string"}} for mime, _ in types.values()}
    return {"responses": {200: {"description": "The file, as an attachment.", "content": content}}}


class SOPExportParams(Schema):
    format: Literal["md", "html", "pdf"] = Field(description="md, html (print-ready) or pdf.")
    version: str = Field(
        "approved",
        pattern=r"^(approved|latest|[1-9][0-9]{0,8})$",
        description="`approved` (default; the latest while none is), `latest` or a number.",
    )


class TranscriptExportParams(Schema):
    format: Literal["vtt", "srt", "txt"] = Field(description="vtt, srt (subtitles) or txt.")


def attachment(export: exports.Export) -> HttpResponse:
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.get(
    "/sops/{sop_id}/export",
    response=ERRORS,
    openapi_extra=_file_response(exports.SOP_FORMATS),
)
def export_sop(request: HttpRequest, sop_id: Id, params: Query[SOPExportParams]) -> Any:
    """The SOP as a file to hand out; by default its approved version."""
    sop = access.get_visible(SOP.objects.select_related("brief"), request.auth, sop_id, what="SOP")  # type: ignore[attr-defined]
    try:
        version = sops.version_for(sop, params.version)
    except sops.SOPError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    label = sops.state_of(sop, version).replace("_", " ")
    return attachment(exports.export_sop(sop, version, params.format, state_label=label))


@router.get(
    "/transcripts/{transcript_id}/export",
    response=ERRORS,
    openapi_extra=_file_response(exports.TRANSCRIPT_FORMATS),
)
def export_transcript(
    request: HttpRequest, transcript_id: Id, params: Query[TranscriptExportParams]
) -> Any:
    """The transcript as subtitles for the video (WebVTT, SRT) or plain text."""
    transcript = access.get_visible(
        Transcript.objects.select_related("brief"),
        request.auth,  # type: ignore[attr-defined]
        transcript_id,
        what="Transcript",
        owner_field="brief__owner",
    )
    return attachment(exports.export_transcript(transcript, params.format))
