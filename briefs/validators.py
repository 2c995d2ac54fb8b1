"""Payload validators of the briefs job types: each refuses a bad payload at enqueue time with a
message a person understands, and returns the cleaned payload. The steps register them next to
their handlers (``briefs/steps/``)."""

from __future__ import annotations

from typing import Any

from jobs.exceptions import InvalidPayload

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
