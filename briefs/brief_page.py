"""What the admin's brief page shows of a brief's results: videos in a player, images as
thumbnails, narration, the transcript with times and the SOP as numbered steps (both seeking the
player), documents (analysis, storyboard…) as readable text, and a download link for every file
— or, before anything is made, what the brief is waiting for.

Every file URL is the access-checked download view (never a /media/ URL).
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from briefs import exports, sops
from briefs.models import Brief

PLAYABLE = {"video", "slim_video"}


def output_url(artifact: Any) -> str:
    return reverse("api:download_output", kwargs={"artifact_id": artifact.pk})


def asset_url(brief: Brief, index: int) -> str:
    return reverse("api:download_asset", kwargs={"brief_id": brief.pk, "index": index})


def readable(value: Any, depth: int = 0) -> SafeString:
    """A JSON document as text, lists and labelled parts (never raw JSON); escaped."""
    if depth > 6:
        return format_html("{}", "…")
    if isinstance(value, dict):
        rows = (
            (str(key).replace("_", " ").capitalize(), readable(item, depth + 1))
            for key, item in value.items()
        )
        return format_html(
            '<dl class="brief-readable">{}</dl>',
            format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows),
        )
    if isinstance(value, list):
        if not value:
            return format_html("{}", "—")
        items = ((readable(item, depth + 1),) for item in value)
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", items))
    if isinstance(value, bool):
        return format_html("{}", "yes" if value else "no")
    if value is None or value == "":
        return format_html("{}", "—")
    return format_html('<span class="brief-text">{}</span>', value)


def waiting_for(brief: Brief) -> str:
    """Why a brief has nothing to show yet, in words."""
    status = brief.status
    if status == Brief.Status.DRAFT:
        return "Nothing made yet: the brief has not been started (Start pipeline or Make SOP)."
    if status == Brief.Status.FAILED:
        return f"Nothing made: the work stopped. {brief.failure_reason}".strip()
    job = _current_job(brief)
    if job is None:
        return "Nothing made yet."
    step = f" · {job.current_step}" if job.current_step else ""
    return f"Waiting for {job.type} (job #{job.pk}, {job.status}, {job.progress}%{step})."


def _current_job(brief: Brief) -> Any:
    from briefs import selectors

    jobs = selectors.brief_jobs(brief=brief)
    return (
        jobs.filter(status="running").order_by("id").first()
        or jobs.filter(status="queued").order_by("id").first()
    )


def context(brief: Brief) -> dict[str, Any]:
    from briefs import selectors

    outputs = selectors.brief_outputs(brief=brief)
    files = [a for a in outputs if a.is_file]
    documents = [a for a in outputs if not a.is_file]
    videos = [(a, output_url(a)) for a in files if a.kind in PLAYABLE]
    # the slim copy first: it is the one the transcript and the SOP's times refer to
    videos.sort(key=lambda pair: pair[0].kind != "slim_video")
    transcript = brief.transcripts.order_by("-created_at", "-id").first()
    sop = brief.sops.order_by("-created_at", "-id").first()
    uploads = [
        (asset, asset_url(brief, index))
        for index, asset in enumerate(brief.assets or [])
        if isinstance(asset, dict) and asset.get("file")
    ]
    nothing = not outputs and transcript is None and sop is None
    return {
        "videos": videos,
        "images": [(a, output_url(a)) for a in files if a.content_type.startswith("image/")],
        "audio": [(a, output_url(a)) for a in files if a.content_type.startswith("audio/")],
        "documents": [(a, readable(a.document), output_url(a)) for a in documents],
        "downloads": [(a, output_url(a)) for a in outputs],
        "uploads": uploads,
        "upload_videos": [(a, url) for a, url in uploads if a.get("kind") == "video"],
        "transcript": transcript,
        "cues": [
            {"start": start, "at": exports.clock(start), "text": text}
            for start, _, text in (exports.cues(transcript.segments) if transcript else [])
        ],
        "sop": sop,
        "sop_steps": exports.readable_steps(sops.latest_version(sop).data) if sop else [],
        "waiting": waiting_for(brief) if nothing else "",
    }
