"""Settings of the briefs app and its AI steps, with defaults, read when asked."""

from __future__ import annotations

from django.conf import settings


def _get(name: str, default):  # type: ignore[no-untyped-def]
    value = getattr(settings, name, default)
    return default if value in (None, "") else value


def openai_api_key() -> str:
    return str(getattr(settings, "OPENAI_API_KEY", "") or "")


def openai_base_url() -> str | None:
    """None means the SDK's default (api.openai.com)."""
    return getattr(settings, "OPENAI_BASE_URL", "") or None


def text_model() -> str:
    return str(_get("OPENAI_MODEL", "gpt-5.4-mini"))


def vision_model() -> str:
    return str(_get("OPENAI_VISION_MODEL", text_model()))


def image_detail() -> str:
    """How closely the vision model looks at frames: low (cheap), high (reads small text) or
    auto."""
    value = str(_get("OPENAI_IMAGE_DETAIL", "auto"))
    return value if value in ("low", "high", "auto") else "auto"


def transcribe_model() -> str:
    return str(_get("OPENAI_TRANSCRIBE_MODEL", "whisper-1"))


def image_model() -> str:
    return str(_get("OPENAI_IMAGE_MODEL", "gpt-image-2"))


def tts_model() -> str:
    """Text-to-speech model for narration of generated videos; "" turns narration off."""
    return str(getattr(settings, "OPENAI_TTS_MODEL", "gpt-4o-mini-tts") or "")


def tts_voice() -> str:
    return str(_get("OPENAI_TTS_VOICE", "alloy"))


def video_model() -> str:
    """A video model for the videos API (e.g. "sora-2"); "" (the default) makes videos from
    generated keyframe images with ffmpeg instead."""
    return str(getattr(settings, "OPENAI_VIDEO_MODEL", "") or "")


def timeout() -> float:
    """Seconds one HTTP request to the AI server may take."""
    return float(_get("OPENAI_TIMEOUT", 120.0))


def max_retries() -> int:
    """Retries of a request on 408/409/429/5xx and connection errors, honouring Retry-After."""
    return int(_get("OPENAI_MAX_RETRIES", 4))


def video_poll_interval() -> float:
    return float(_get("OPENAI_VIDEO_POLL_INTERVAL", 5.0))


def max_frames() -> int:
    """At most this many 1-fps frames of a video go to the vision model (evenly sampled)."""
    return int(_get("BRIEFS_MAX_FRAMES", 120))


def audio_chunk_seconds() -> int:
    """Audio goes to speech-to-text in pieces this long (OpenAI takes files up to 25 MB)."""
    return int(_get("BRIEFS_AUDIO_CHUNK_SECONDS", 1200))


def frames_per_request() -> int:
    return int(_get("BRIEFS_FRAMES_PER_REQUEST", 20))


def asset_max_bytes() -> int:
    return int(_get("BRIEFS_ASSET_MAX_BYTES", 500 * 1024 * 1024))


def asset_fetch_timeout() -> float:
    return float(_get("BRIEFS_ASSET_FETCH_TIMEOUT", 30.0))


def allow_private_urls() -> bool:
    """Let asset_prep fetch URLs on loopback/private networks (off: no SSRF into your LAN)."""
    return bool(getattr(settings, "BRIEFS_ALLOW_PRIVATE_URLS", False))


def ffmpeg() -> str:
    return str(_get("FFMPEG_BINARY", "ffmpeg"))


def ffprobe() -> str:
    return str(_get("FFPROBE_BINARY", "ffprobe"))


ACCEL_MODES = ("none", "nginx", "apache")


def media_accel_redirect() -> str:
    """How a checked download leaves: ``none`` (Django streams it), ``nginx``
    (``X-Accel-Redirect``) or ``apache`` (``X-Sendfile``)."""
    return str(_get("MEDIA_ACCEL_REDIRECT", "none")).strip().lower()


def media_accel_prefix() -> str:
    """The nginx ``internal`` location that maps onto MEDIA_ROOT."""
    prefix = str(_get("MEDIA_ACCEL_PREFIX", "/protected-media/"))
    return prefix if prefix.endswith("/") else prefix + "/"
