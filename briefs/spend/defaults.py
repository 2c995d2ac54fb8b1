"""The default price table: what the models the app uses cost, in US dollars.

Written into the ``Price`` table by a data migration (``briefs/migrations/0004_default_prices``)
with ``valid_from`` 2026-01-01 UTC; staff edit the table in the admin (add a row with a newer
``valid_from`` when a price changes, so older calls keep their cost). Taken from OpenAI's public
price list as published in 2026; check https://openai.com/api/pricing before relying on them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

VALID_FROM = datetime(2026, 1, 1, tzinfo=UTC)

# (model, unit, price, note)
DEFAULT_PRICES: list[tuple[str, str, Decimal, str]] = [
    # Text and vision (OPENAI_MODEL, OPENAI_VISION_MODEL): images sent are input tokens.
    ("gpt-5.4-mini", "input_1m_tokens", Decimal("0.75"), ""),
    ("gpt-5.4-mini", "cached_input_1m_tokens", Decimal("0.075"), ""),
    ("gpt-5.4-mini", "output_1m_tokens", Decimal("4.50"), ""),
    ("gpt-5.4", "input_1m_tokens", Decimal("2.50"), ""),
    ("gpt-5.4", "cached_input_1m_tokens", Decimal("0.25"), ""),
    ("gpt-5.4", "output_1m_tokens", Decimal("15.00"), ""),
    # Speech to text (OPENAI_TRANSCRIBE_MODEL): per minute of audio sent.
    ("gpt-transcribe", "audio_minute", Decimal("0.006"), ""),
    ("gpt-4o-transcribe", "audio_minute", Decimal("0.006"), "deprecated: shuts down 2027-02-26"),
    (
        "gpt-4o-mini-transcribe",
        "audio_minute",
        Decimal("0.003"),
        "deprecated: shuts down 2027-02-26",
    ),
    ("whisper-1", "audio_minute", Decimal("0.006"), "deprecated: shuts down 2027-02-26"),
    # Images (OPENAI_IMAGE_MODEL): text in, image tokens out.
    ("gpt-image-2", "input_1m_tokens", Decimal("5.00"), ""),
    ("gpt-image-2", "cached_input_1m_tokens", Decimal("1.25"), ""),
    ("gpt-image-2", "output_1m_tokens", Decimal("30.00"), "image output tokens"),
    # Narration (OPENAI_TTS_MODEL): the speech API reports no usage; priced by the characters
    # sent, at OpenAI's estimate of $0.015 per minute of speech (about 1,000 characters).
    (
        "gpt-4o-mini-tts",
        "1m_characters",
        Decimal("15.00"),
        "estimate; deprecated: shuts down 2027-01-06",
    ),
    # Video (OPENAI_VIDEO_MODEL).
    ("sora-2", "video_second", Decimal("0.10"), ""),
    ("sora-2-pro", "video_second", Decimal("0.30"), ""),
]


def install(price_model: Any) -> None:
    """Write the default prices that are missing (by the migration, with its historical
    model, and by the tests)."""
    for model, unit, price, note in DEFAULT_PRICES:
        price_model.objects.get_or_create(
            model=model, unit=unit, valid_from=VALID_FROM, defaults={"price": price, "note": note}
        )
