"""Settings of the briefs app and its AI steps, with defaults, read when asked.

``DEFAULTS`` is the one place each default is written (see ``jobs/conf.py``): the accessors
fall back to it, and ``config/settings.py`` reads the environment with it. An empty value of a
model name or a number counts as unset (the default applies).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # OpenAI or any OpenAI-compatible server. No key: the offline provider (labelled results).
    "OPENAI_API_KEY": "",
    "OPENAI_BASE_URL": "",
    "OPENAI_MODEL": "gpt-5.4-mini",
    "OPENAI_VISION_MODEL": "gpt-5.4-mini",
    "OPENAI_IMAGE_DETAIL": "auto",
    "OPENAI_TRANSCRIBE_MODEL": "gpt-transcribe",
    "OPENAI_STORE": False,
    "OPENAI_REASONING_EFFORT": "",
    "OPENAI_IMAGE_MODEL": "gpt-image-2",
    "OPENAI_TTS_MODEL": "gpt-4o-mini-tts",
    "OPENAI_TTS_VOICE": "alloy",
    "OPENAI_VIDEO_MODEL": "",
    "OPENAI_TIMEOUT": 120.0,
    "OPENAI_MAX_RETRIES": 4,
    "OPENAI_HOLD_QUEUE_ON_429": True,
    "OPENAI_VIDEO_POLL_INTERVAL": 5.0,
    "BRIEFS_MAX_FRAMES": 120,
    "BRIEFS_FRAMES_PER_REQUEST": 20,
    "BRIEFS_AUDIO_CHUNK_SECONDS": 1200,
    "BRIEFS_ASSET_MAX_BYTES": 500 * 1024 * 1024,
    "BRIEFS_ASSET_FETCH_TIMEOUT": 30.0,
    "BRIEFS_ALLOW_PRIVATE_URLS": False,
    "BRIEFS_UPLOAD_QUOTA_BYTES": 5 * 1024 * 1024 * 1024,
    "BRIEFS_UPLOAD_UNATTACHED_HOURS": 24.0,
    "FFMPEG_BINARY": "ffmpeg",
    "FFPROBE_BINARY": "ffprobe",
    "PROMPTS_DIR": "",  # empty: prompts/ beside manage.py
    # Downloads: after the access check, hand the file to the front server (none|nginx|apache).
    "MEDIA_ACCEL_REDIRECT": "none",
    "MEDIA_ACCEL_PREFIX": "/protected-media/",
}


def setting(name: str) -> Any:
    """The project's value of one of these settings, or its default."""
    return getattr(settings, name, DEFAULTS[name])


def _get(name: str) -> Any:
    """Like ``setting``, but an empty value (None or "") means the default."""
    value = setting(name)
    return DEFAULTS[name] if value in (None, "") else value


def openai_api_key() -> str:
    return str(setting("OPENAI_API_KEY") or "")


def openai_base_url() -> str | None:
    """None means the SDK's default (api.openai.com)."""
    return setting("OPENAI_BASE_URL") or None


def text_model() -> str:
    return str(_get("OPENAI_MODEL"))


def vision_model() -> str:
    return str(setting("OPENAI_VISION_MODEL") or text_model())


def image_detail() -> str:
    """How closely the vision model looks at frames: low (cheap), high (reads small text) or
    auto."""
    value = str(_get("OPENAI_IMAGE_DETAIL"))
    return value if value in ("low", "high", "auto") else "auto"


def transcribe_model() -> str:
    """gpt-transcribe: whisper-1 and the gpt-4o-*transcribe models shut down on 2027-02-26."""
    return str(_get("OPENAI_TRANSCRIBE_MODEL"))


def store() -> bool:
    """Let OpenAI keep Responses requests and answers (30 days) for its dashboard and for
    follow-up calls. Off by default: users' transcripts and briefs are not kept there."""
    return bool(setting("OPENAI_STORE"))


#: Reasoning effort per structured step (its schema name): extraction and classification need
#: little thought; planning and writing a bit more.
REASONING_EFFORT_DEFAULTS: dict[str, str] = {
    "screen_events": "low",
    "sop": "low",
    "brief_analysis": "low",
    "text_analysis": "low",
    "asset_review": "low",
    "sentiment": "low",
    "review_reply": "low",
    "storyboard": "medium",
    "render": "medium",
    "prompt_analysis": "medium",
}
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")


def reasoning_effort(step: str, model: str) -> str:
    """The reasoning effort to ask for on ``step`` ("" sends none).

    ``OPENAI_REASONING_EFFORT``: empty for the defaults above; one effort for every step
    (``low``); ``off`` to send none; or per step, ``sop=low,render=high`` (a dict in settings),
    over the defaults. Sent only to reasoning models (gpt-5*, o-series): others refuse it."""
    if not re.match(r"^(gpt-5|o\d)", model):
        return ""
    efforts = dict(REASONING_EFFORT_DEFAULTS)
    chosen = setting("OPENAI_REASONING_EFFORT") or ""
    if isinstance(chosen, str) and "=" in chosen:
        chosen = dict(part.split("=", 1) for part in chosen.split(",") if "=" in part)
    if isinstance(chosen, dict):
        efforts |= {str(k).strip(): str(v).strip() for k, v in chosen.items()}
    elif chosen:
        return "" if chosen == "off" else str(chosen)
    effort = efforts.get(step) or ""
    return "" if effort == "off" else effort


def image_model() -> str:
    return str(_get("OPENAI_IMAGE_MODEL"))


def tts_model() -> str:
    """Text-to-speech model for narration of generated videos; "" turns narration off."""
    return str(setting("OPENAI_TTS_MODEL") or "")


def tts_voice() -> str:
    return str(_get("OPENAI_TTS_VOICE"))


def video_model() -> str:
    """A video model for the videos API (e.g. "sora-2"); "" (the default) makes videos from
    generated keyframe images with ffmpeg instead."""
    return str(setting("OPENAI_VIDEO_MODEL") or "")


def timeout() -> float:
    """Seconds one HTTP request to the AI server may take."""
    return float(_get("OPENAI_TIMEOUT"))


def max_retries() -> int:
    """Retries of a request on 408/409/429/5xx and connection errors, honouring Retry-After."""
    return int(_get("OPENAI_MAX_RETRIES"))


def hold_queue_on_rate_limit() -> bool:
    """A 429 with Retry-After that outlasts the SDK's retries holds the job's queue on every
    worker for that long (the job goes back without losing an attempt) instead of failing it."""
    return bool(_get("OPENAI_HOLD_QUEUE_ON_429"))


def video_poll_interval() -> float:
    return float(_get("OPENAI_VIDEO_POLL_INTERVAL"))


def max_frames() -> int:
    """At most this many 1-fps frames of a video go to the vision model (evenly sampled)."""
    return int(_get("BRIEFS_MAX_FRAMES"))


def audio_chunk_seconds() -> int:
    """Audio goes to speech-to-text in pieces this long (OpenAI takes files up to 25 MB)."""
    return int(_get("BRIEFS_AUDIO_CHUNK_SECONDS"))


def frames_per_request() -> int:
    return int(_get("BRIEFS_FRAMES_PER_REQUEST"))


def asset_max_bytes() -> int:
    return int(_get("BRIEFS_ASSET_MAX_BYTES"))


def asset_fetch_timeout() -> float:
    return float(_get("BRIEFS_ASSET_FETCH_TIMEOUT"))


def allow_private_urls() -> bool:
    """Let asset_prep fetch URLs on loopback/private networks (off: no SSRF into your LAN)."""
    return bool(setting("BRIEFS_ALLOW_PRIVATE_URLS"))


def ffmpeg() -> str:
    return str(_get("FFMPEG_BINARY"))


def ffprobe() -> str:
    return str(_get("FFPROBE_BINARY"))


def prompts_dir() -> Path:
    """Where the versioned prompt files are (``prompts/`` beside ``manage.py`` by default)."""
    return Path(setting("PROMPTS_DIR") or Path(settings.BASE_DIR) / "prompts")


def upload_quota_bytes() -> int:
    """How many bytes of uploads one user may keep; 0 means no limit."""
    return int(setting("BRIEFS_UPLOAD_QUOTA_BYTES"))


def upload_unattached_hours() -> float:
    """An upload no brief uses is deleted after this many hours (``manage.py prune_uploads``)."""
    return float(setting("BRIEFS_UPLOAD_UNATTACHED_HOURS"))


ACCEL_MODES = ("none", "nginx", "apache")


def media_accel_redirect() -> str:
    """How a checked download leaves: ``none`` (Django streams it), ``nginx``
    (``X-Accel-Redirect``) or ``apache`` (``X-Sendfile``)."""
    return str(_get("MEDIA_ACCEL_REDIRECT")).strip().lower()


def media_accel_prefix() -> str:
    """The nginx ``internal`` location that maps onto MEDIA_ROOT."""
    prefix = str(_get("MEDIA_ACCEL_PREFIX"))
    return prefix if prefix.endswith("/") else prefix + "/"
