"""Review replies, sentiment and prompt analysis: steps on a text in the payload, not on a
brief."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from briefs import ai, offline, prompts, schemas
from briefs.steps.common import ai_label
from briefs.validators import prompt_payload, review_payload, sentiment_payload
from jobs.registry import register

if TYPE_CHECKING:
    from jobs.context import JobContext


@register("ai_generation", validate=review_payload, cost=1)
def ai_generation(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Reply to a customer review in a given tone."""
    ctx.progress(10, "Writing a reply to the review")
    prompt = prompts.get("review_reply")
    lines = [f"Tone: {payload['tone']}", f"Review: {payload['review_text']}"]
    if payload.get("rating") is not None:
        lines.insert(1, f"Rating: {payload['rating']} of 5")
    if payload.get("business_name"):
        lines.insert(0, f"Business: {payload['business_name']}")
    result = ai.structured(
        ctx=ctx,
        prompt=prompt,
        content="\n".join(lines),
        schema=schemas.REVIEW_REPLY_SCHEMA,
        schema_name="review_reply",
        offline=lambda: offline.review_reply(
            review=payload["review_text"],
            tone=payload["tone"],
            business=payload.get("business_name", ""),
        ),
    )
    return {**ai_label(result, prompt), "reply": result.data["reply"], "tone": result.data["tone"]}


@register("sentiment_analysis", validate=sentiment_payload, cost=1)
def sentiment_analysis(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """The sentiment of a text: overall, score and per aspect."""
    ctx.progress(10, "Reading the text")
    prompt = prompts.get("sentiment")
    result = ai.structured(
        ctx=ctx,
        prompt=prompt,
        content=payload["text"],
        schema=schemas.SENTIMENT_SCHEMA,
        schema_name="sentiment",
        offline=lambda: offline.sentiment(text=payload["text"]),
    )
    return {**ai_label(result, prompt), **result.data}


@register("prompt_analysis", validate=prompt_payload, cost=1)
def prompt_analysis(payload: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Review a prompt and suggest a clearer one."""
    ctx.progress(10, "Reviewing the prompt")
    prompt = prompts.get("prompt_analysis")
    result = ai.structured(
        ctx=ctx,
        prompt=prompt,
        content=payload["prompt"],
        schema=schemas.PROMPT_ANALYSIS_SCHEMA,
        schema_name="prompt_analysis",
        offline=lambda: offline.prompt_analysis(prompt=payload["prompt"]),
    )
    return {**ai_label(result, prompt), **result.data}
