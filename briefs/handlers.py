"""The job types of the briefs app. Each handler is one line into ``briefs/steps.py``; each
validator refuses a bad payload at enqueue time with a message a person understands.

Costs (credits taken from the job's owner at enqueue, given back if the job never succeeds) are
set here with ``cost=``.
"""

from __future__ import annotations

from typing import Any

from briefs import steps
from jobs.context import JobContext
from jobs.exceptions import InvalidPayload
from jobs.registry import register

MAX_TEXT = 20_000


def _int(payload: dict[str, Any], key: str, *, minimum: int = 0) -> int:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidPayload(f"{key} must be a whole number of at least {minimum}, not {value!r}.")
    return value


def brief_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """``{"brief_id": <id>}`` of an existing brief."""
    from briefs.models import Brief

    brief_id = _int(payload, "brief_id", minimum=1)
    if not Brief.objects.filter(pk=brief_id).exists():
        raise InvalidPayload(f"There is no brief #{brief_id}.")
    return {"brief_id": brief_id}


def video_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """``{"brief_id": <id>, "asset_index": <n>}``: the brief's n-th asset (0-based, default 0)."""
    cleaned = brief_payload(payload)
    cleaned["asset_index"] = _int(
        payload | {"asset_index": payload.get("asset_index", 0)}, "asset_index"
    )
    return cleaned


def sop_payload(payload: dict[str, Any]) -> dict[str, Any]:
    cleaned = video_payload(payload)
    if payload.get("transcript_id") is not None:
        cleaned["transcript_id"] = _int(payload, "transcript_id", minimum=1)
    return cleaned


def _text(payload: dict[str, Any], key: str, *, example: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidPayload(f'Give the text in "{key}", for example {example}.')
    if len(value) > MAX_TEXT:
        raise InvalidPayload(f"{key} is {len(value):,} characters; the limit is {MAX_TEXT:,}.")
    return value.strip()


def review_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """``{"review_text": …, "tone": "friendly", "business_name": …, "rating": 1-5}``."""
    cleaned: dict[str, Any] = {
        "review_text": _text(
            payload, "review_text", example='{"review_text": "Great service!", "tone": "friendly"}'
        )
    }
    tone = payload.get("tone", "friendly")
    if not isinstance(tone, str) or not tone.strip() or len(tone) > 50:
        raise InvalidPayload('tone must be a short word or phrase, for example "friendly".')
    cleaned["tone"] = tone.strip()
    business = payload.get("business_name", "")
    if not isinstance(business, str) or len(business) > 200:
        raise InvalidPayload("business_name must be text of at most 200 characters.")
    if business.strip():
        cleaned["business_name"] = business.strip()
    rating = payload.get("rating")
    if rating is not None:
        if isinstance(rating, bool) or not isinstance(rating, int | float) or not 1 <= rating <= 5:
            raise InvalidPayload("rating must be a number from 1 to 5.")
        cleaned["rating"] = rating
    return cleaned


def sentiment_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """``{"text": …}`` (``review_text`` is accepted too)."""
    if "text" not in payload and "review_text" in payload:
        payload = {"text": payload["review_text"]}
    return {"text": _text(payload, "text", example='{"text": "The food was cold."}')}


def prompt_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """``{"prompt": …}``."""
    return {"prompt": _text(payload, "prompt", example='{"prompt": "Write a poem"}')}


@register("analysis", validate=brief_payload, cost=1, user_startable=True)
def analysis(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Work out what a brief asks for: intent, audience, key points, deliverables."""
    return steps.analysis(payload, ctx)


@register("storyboard", validate=brief_payload, cost=1, user_startable=True)
def storyboard(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Plan the scenes of a brief."""
    return steps.storyboard(payload, ctx)


@register("asset_prep", validate=brief_payload, timeout=1800)
def asset_prep(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Fetch a brief's URL assets into storage, check every asset, review images."""
    return steps.asset_prep(payload, ctx)


@register("text_analysis", validate=brief_payload, cost=1, user_startable=True)
def text_analysis(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Analyse the text of a brief and its text assets."""
    return steps.text_analysis(payload, ctx)


@register("image_processing", validate=brief_payload, cost=3, timeout=600)
def image_processing(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Generate the brief's image with the image model and store it."""
    return steps.image_processing(payload, ctx)


@register("video_generation", validate=brief_payload, cost=5, timeout=1800)
def video_generation(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Generate the brief's video with the video model and store it."""
    return steps.video_generation(payload, ctx)


@register("render", validate=brief_payload, cost=1, timeout=1800)
def render(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Render the final delivery of a brief: media files and a written summary."""
    return steps.render(payload, ctx)


@register("ai_generation", validate=review_payload, cost=1, user_startable=True)
def ai_generation(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Reply to a customer review in a given tone."""
    return steps.ai_generation(payload, ctx)


@register("sentiment_analysis", validate=sentiment_payload, cost=1, user_startable=True)
def sentiment_analysis(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """The sentiment of a text: overall, score and per aspect."""
    return steps.sentiment_analysis(payload, ctx)


@register("prompt_analysis", validate=prompt_payload, cost=1, user_startable=True)
def prompt_analysis(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Review a prompt and suggest a clearer one."""
    return steps.prompt_analysis(payload, ctx)


@register("video_slim", validate=video_payload, timeout=1800)
def video_slim(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Make the slim copy of a brief's video (1 fps, 720p, CRF 32) beside the raw one."""
    return steps.video_slim(payload, ctx)


@register("transcribe", validate=video_payload, cost=2, timeout=3600)
def transcribe(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Transcribe a brief's video: speech and on-screen events, with timestamps."""
    return steps.transcribe(payload, ctx)


@register("sop_extract", validate=sop_payload, cost=1, timeout=900)
def sop_extract(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Turn a brief's transcript into a structured SOP for its owner."""
    return steps.sop_extract(payload, ctx)
