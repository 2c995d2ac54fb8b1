"""Recording what each AI call used, priced with the table valid at the time of the call."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from briefs.spend.models import AICall, Kind, Price

if TYPE_CHECKING:
    from jobs.context import JobContext

logger = logging.getLogger("briefs.spend")

MILLION = Decimal(1_000_000)
SIXTY = Decimal(60)
CENTS = Decimal("0.000001")


@dataclass
class Usage:
    """What one call used (from the API's ``usage`` and what we sent)."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    audio_seconds: Decimal = Decimal(0)
    images: int = 0
    video_seconds: Decimal = Decimal(0)
    characters: int = 0

    @classmethod
    def from_api(cls, usage: Any) -> Usage:
        """Read the Responses/Images/Transcriptions API's ``usage`` object (or dict)."""
        if usage is None:
            return cls()
        if hasattr(usage, "model_dump"):
            usage = usage.model_dump()
        if not isinstance(usage, dict):
            return cls()

        def number(value: Any) -> int:
            return value if isinstance(value, int) and value > 0 else 0

        in_details = usage.get("input_tokens_details") or {}
        out_details = usage.get("output_tokens_details") or {}
        found = cls(
            input_tokens=number(usage.get("input_tokens")),
            output_tokens=number(usage.get("output_tokens")),
            cached_input_tokens=number(in_details.get("cached_tokens"))
            if isinstance(in_details, dict)
            else 0,
            reasoning_tokens=number(out_details.get("reasoning_tokens"))
            if isinstance(out_details, dict)
            else 0,
        )
        seconds = usage.get("seconds")
        if usage.get("type") == "duration" and isinstance(seconds, int | float) and seconds > 0:
            found.audio_seconds = Decimal(str(seconds))
        return found

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def prices_at(model: str, when: datetime) -> dict[str, Decimal]:
    """The price of each unit of ``model`` valid at ``when`` (the newest row not after it)."""
    newest = Price.objects.filter(
        model=OuterRef("model"), unit=OuterRef("unit"), valid_from__lte=when
    ).order_by("-valid_from", "-id")
    rows = Price.objects.filter(model=model, valid_from__lte=when).filter(
        pk=Subquery(newest.values("pk")[:1])
    )
    return {row.unit: row.price for row in rows}


def cost_of(usage: Usage, prices: dict[str, Decimal]) -> tuple[Decimal, bool]:
    """The cost of ``usage`` at ``prices``, and whether any price applied.

    Cached input tokens are part of the input tokens; they cost the cached price when the table
    has one. Reasoning tokens are part of the output tokens (OpenAI bills them as output).
    """
    unit = Price.Unit
    terms: list[tuple[Decimal, str]] = []
    cached = min(usage.cached_input_tokens, usage.input_tokens)
    if unit.CACHED_INPUT_TOKENS in prices:
        terms.append((Decimal(usage.input_tokens - cached) / MILLION, unit.INPUT_TOKENS))
        terms.append((Decimal(cached) / MILLION, unit.CACHED_INPUT_TOKENS))
    else:
        terms.append((Decimal(usage.input_tokens) / MILLION, unit.INPUT_TOKENS))
    terms += [
        (Decimal(usage.output_tokens) / MILLION, unit.OUTPUT_TOKENS),
        (Decimal(usage.audio_seconds) / SIXTY, unit.AUDIO_MINUTES),
        (Decimal(usage.images), unit.IMAGES),
        (Decimal(usage.video_seconds), unit.VIDEO_SECONDS),
        (Decimal(usage.characters) / MILLION, unit.CHARACTERS),
    ]
    total = Decimal(0)
    priced = False
    for quantity, name in terms:
        if quantity and name in prices:
            total += quantity * prices[name]
            priced = True
    return total.quantize(CENTS), priced


def record(
    *,
    ctx: JobContext | None,
    provider: str,
    model: str,
    kind: Kind | str,
    usage: Usage,
    request_id: str = "",
    duration_ms: int = 0,
    retried: bool = False,
) -> AICall:
    """Write the usage row of one call (at once, outside any job transaction: the money is
    spent whether or not the job later succeeds). Offline calls cost nothing."""
    now = timezone.now()
    if provider == "offline":
        cost, priced = Decimal(0), True
    else:
        cost, priced = cost_of(usage, prices_at(model, now))
    job = ctx.job if ctx is not None else None
    row = AICall(
        created_at=now,
        job_id=job.pk if job is not None else None,
        job_type=job.type if job is not None else "",
        user_id=job.owner_id if job is not None else None,
        brief_id=_brief_id(job),
        provider=provider,
        model=model[:100],
        kind=str(kind),
        request_id=(request_id or "")[:200],
        duration_ms=max(0, int(duration_ms)),
        retried=retried,
        cost=cost,
        priced=priced,
        **usage.as_dict(),
    )
    row.save()
    if not priced and provider != "offline":
        logger.warning("model=%s has no price in the price table; its calls cost $0", model)
    return row


def _brief_id(job: Any) -> int | None:
    """The brief a job works for (its payload names it), if it still exists."""
    from briefs.models import Brief

    if job is None or not isinstance(job.payload, dict):
        return None
    brief_id = job.payload.get("brief_id")
    if not isinstance(brief_id, int) or isinstance(brief_id, bool):
        return None
    return brief_id if Brief.objects.filter(pk=brief_id).exists() else None
