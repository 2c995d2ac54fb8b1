"""System checks for the AI settings."""

from __future__ import annotations

import shutil
from typing import Any
from urllib.parse import urlsplit

from django.core.checks import Error, Warning, register

from briefs import conf


@register()
def check_ai_settings(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    messages: list[Error | Warning] = []
    base_url = conf.openai_base_url()
    if base_url and urlsplit(base_url).scheme not in ("http", "https"):
        messages.append(
            Error("OPENAI_BASE_URL must be an http(s) URL ending in /v1.", id="briefs.E001")
        )
    if base_url and not conf.openai_api_key():
        messages.append(
            Warning(
                "OPENAI_BASE_URL is set but OPENAI_API_KEY is not: the offline provider is used.",
                hint="Set OPENAI_API_KEY (any non-empty value for a server that needs none).",
                id="briefs.W002",
            )
        )
    detail = conf.setting("OPENAI_IMAGE_DETAIL") or conf.DEFAULTS["OPENAI_IMAGE_DETAIL"]
    if detail not in ("low", "high", "auto"):
        messages.append(Error("OPENAI_IMAGE_DETAIL must be low, high or auto.", id="briefs.E004"))
    if conf.media_accel_redirect() not in conf.ACCEL_MODES:
        messages.append(
            Error(
                f"MEDIA_ACCEL_REDIRECT must be one of {', '.join(conf.ACCEL_MODES)}.",
                id="briefs.E005",
            )
        )
    if conf.timeout() <= 0:
        messages.append(Error("OPENAI_TIMEOUT must be more than 0 seconds.", id="briefs.E002"))
    if conf.max_retries() < 0:
        messages.append(Error("OPENAI_MAX_RETRIES cannot be negative.", id="briefs.E003"))
    for step in (*conf.REASONING_EFFORT_DEFAULTS, "any"):
        effort = conf.reasoning_effort(step, "gpt-5")
        if effort and effort not in conf.REASONING_EFFORTS:
            messages.append(
                Error(
                    f"OPENAI_REASONING_EFFORT: {effort!r} is not an effort.",
                    hint=f"Use one of {', '.join(conf.REASONING_EFFORTS)}, or off.",
                    id="briefs.E005",
                )
            )
            break
    for name, binary in (("FFMPEG_BINARY", conf.ffmpeg()), ("FFPROBE_BINARY", conf.ffprobe())):
        if shutil.which(binary) is None:
            messages.append(
                Warning(
                    f"{name} ({binary!r}) was not found: the video steps will fail.",
                    hint="Run scripts/install-system-deps.",
                    id="briefs.W001",
                )
            )
    return messages
