"""Every call to OpenAI (or any OpenAI-compatible server) goes through this module.

Settings (``briefs/conf.py``): ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``OPENAI_MODEL``,
``OPENAI_VISION_MODEL``, ``OPENAI_TRANSCRIBE_MODEL``, ``OPENAI_IMAGE_MODEL``,
``OPENAI_TTS_MODEL``, ``OPENAI_TTS_VOICE``, ``OPENAI_VIDEO_MODEL``, ``OPENAI_TIMEOUT``,
``OPENAI_MAX_RETRIES``.

- Provider: ``openai`` when a key is set, otherwise ``offline``: each caller passes an
  ``offline`` function that makes a simple deterministic result, and every result says which
  provider and model made it. The offline provider is never used when a key is set.
- Retries: the SDK retries 408/409/429/5xx and connection errors up to ``OPENAI_MAX_RETRIES``
  times with exponential backoff, honouring ``Retry-After``/``retry-after-ms``. When it gives up
  we raise :class:`AIUnavailable` (the job is retried later by the queue).
- Errors retrying cannot fix (bad request, auth, content filter, a refusal, an answer that does
  not fit the schema) raise :class:`~jobs.exceptions.PermanentError` with a readable reason:
  the job fails at once.
- Token usage of every call is added to the job (``ctx.add_usage``).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import openai

from briefs import conf
from briefs.prompts import Prompt
from briefs.schemas import SchemaMismatch, storable, validate
from jobs.exceptions import PermanentError

if TYPE_CHECKING:
    from jobs.context import JobContext

logger = logging.getLogger("briefs.ai")

OFFLINE = "offline"
OPENAI = "openai"


class AIUnavailable(Exception):
    """The AI server could not answer now (rate limit, server error, network): retry later."""


@dataclass
class AIResult:
    data: Any
    model: str
    provider: str
    usage: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> dict[str, str]:
        """What to store with a result so a person sees what made it."""
        return {"provider": self.provider, "model": self.model}


def provider() -> str:
    return OPENAI if conf.openai_api_key() else OFFLINE


@lru_cache(maxsize=8)
def _client(api_key: str, base_url: str | None, timeout: float, max_retries: int) -> openai.OpenAI:
    return openai.OpenAI(
        api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
    )


def client() -> openai.OpenAI:
    return _client(
        conf.openai_api_key(), conf.openai_base_url(), conf.timeout(), conf.max_retries()
    )


# --- calls ---------------------------------------------------------------------------------


def structured(
    *,
    ctx: JobContext | None,
    prompt: Prompt,
    content: str | list[dict[str, Any]],
    schema: dict[str, Any],
    schema_name: str,
    offline: Callable[[], Any],
    model: str | None = None,
) -> AIResult:
    """Ask the Responses API for JSON that fits ``schema`` (strict structured output).

    ``content`` is the user's input: text, or a list of Responses input parts (text and
    images). The answer is checked against ``schema`` here too.
    """
    if provider() == OFFLINE:
        data = validate(offline(), schema, name=schema_name)
        return AIResult(data=data, model=OFFLINE, provider=OFFLINE)
    model = model or conf.text_model()
    parts = [{"type": "input_text", "text": content}] if isinstance(content, str) else content
    _check(ctx)
    with _errors(f"{schema_name} ({model})"):
        response = client().responses.create(  # type: ignore[call-overload]
            model=model,
            instructions=prompt.text,
            input=[{"role": "user", "content": parts}],
            text={
                "format": {
                    "type": "json_schema",
                    "name": schema_name,
                    "schema": schema,
                    "strict": True,
                }
            },
        )
    usage = _usage(getattr(response, "usage", None))
    _record(ctx, usage)
    _refuse_unfinished(response, schema_name)
    text = response.output_text
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        raise PermanentError(
            f"The model's answer for {schema_name} is not JSON: {str(text)[:200]!r}"
        ) from None
    try:
        validate(data, schema, name=schema_name)
    except SchemaMismatch as exc:
        raise PermanentError(str(exc)) from None
    return AIResult(
        data=storable(data), model=response.model or model, provider=OPENAI, usage=usage
    )


def image_part(data: bytes, *, mime: str = "image/jpeg") -> dict[str, Any]:
    """A Responses input part holding an image (``OPENAI_IMAGE_DETAIL``: low, high or auto)."""
    encoded = base64.b64encode(data).decode()
    url = f"data:{mime};base64,{encoded}"
    return {"type": "input_image", "image_url": url, "detail": conf.image_detail()}


def text_part(text: str) -> dict[str, Any]:
    return {"type": "input_text", "text": text}


def transcribe_audio(
    *, ctx: JobContext | None, path: Path, duration: float, offline: Callable[[], Any]
) -> AIResult:
    """Speech-to-text with segment timestamps: ``{"language", "segments": [{start,end,text}]}``.

    ``whisper-1`` gives segments; models that only give text (``gpt-4o-transcribe``) give one
    segment spanning the audio.
    """
    if provider() == OFFLINE:
        return AIResult(data=offline(), model=OFFLINE, provider=OFFLINE)
    model = conf.transcribe_model()
    verbose = not model.startswith("gpt-4o")  # gpt-4o-*transcribe answer plain JSON only
    _check(ctx)
    with _errors(f"transcription ({model})"), path.open("rb") as audio:
        response: Any
        if verbose:
            response = client().audio.transcriptions.create(
                model=model,
                file=audio,
                response_format="verbose_json",
                timestamp_granularities=["segment"],
            )
        else:
            response = client().audio.transcriptions.create(
                model=model, file=audio, response_format="json"
            )
    usage = _usage(getattr(response, "usage", None))
    if not usage:
        usage = {"audio_seconds": round(duration)}
    _record(ctx, usage)
    segments = []
    for segment in getattr(response, "segments", None) or []:
        get = segment.get if isinstance(segment, dict) else lambda k, s=segment: getattr(s, k)
        text = str(get("text") or "").strip()
        if text:
            start, end = float(get("start") or 0), float(get("end") or 0)
            segments.append({"start": start, "end": end, "text": text})
    text = str(getattr(response, "text", "") or "").strip()
    if not segments and text:
        segments = [{"start": 0.0, "end": float(duration), "text": text}]
    language = str(getattr(response, "language", "") or "")
    return AIResult(
        data=storable({"language": language, "segments": segments}),
        model=model,
        provider=OPENAI,
        usage=usage,
    )


def generate_image(
    *, ctx: JobContext | None, prompt: str, size: str, offline: Callable[[], bytes]
) -> AIResult:
    """An image from a prompt; ``data`` is the PNG bytes."""
    if provider() == OFFLINE:
        return AIResult(data=offline(), model=OFFLINE, provider=OFFLINE)
    model = conf.image_model()
    _check(ctx)
    with _errors(f"image generation ({model})"):
        response = client().images.generate(model=model, prompt=prompt, size=size, n=1)  # type: ignore[arg-type]
    usage = _usage(getattr(response, "usage", None)) | {"images": 1}
    _record(ctx, usage)
    items = response.data or []
    if not items or not items[0].b64_json:
        raise PermanentError(f"The image model {model} returned no image data.")
    try:
        image = base64.b64decode(items[0].b64_json, validate=True)
    except ValueError:
        raise PermanentError(f"The image model {model} returned data that is not base64.") from None
    return AIResult(data=image, model=model, provider=OPENAI, usage=usage)


def speak(*, ctx: JobContext | None, text: str, offline: Callable[[], bytes | None]) -> AIResult:
    """Narration: text-to-speech as MP3 bytes (``data`` is None when narration is off)."""
    model = conf.tts_model()
    if provider() == OFFLINE:
        return AIResult(data=offline(), model=OFFLINE, provider=OFFLINE)
    if not model:
        return AIResult(data=None, model="", provider=OPENAI)
    _check(ctx)
    with _errors(f"narration ({model})"):
        response = client().audio.speech.create(
            model=model,
            voice=conf.tts_voice(),  # type: ignore[arg-type]
            input=text[:4000],
            response_format="mp3",
        )
        audio = response.read()
    usage = {"tts_characters": len(text[:4000])}
    _record(ctx, usage)
    if not audio:
        raise PermanentError(f"The speech model {model} returned no audio.")
    return AIResult(data=audio, model=model, provider=OPENAI, usage=usage)


def generate_video(
    *,
    ctx: JobContext | None,
    prompt: str,
    seconds: int,
    size: str,
    offline: Callable[[], bytes],
    on_progress: Callable[[int], None] | None = None,
) -> AIResult:
    """A video from a prompt through the videos API (create, poll, download); ``data`` is MP4."""
    if provider() == OFFLINE:
        return AIResult(data=offline(), model=OFFLINE, provider=OFFLINE)
    model = conf.video_model()
    _check(ctx)
    api = client().videos
    # The SDK marks the videos API deprecated (Sora's shutdown); it stays for servers that
    # still offer it. The default path makes videos from keyframes (briefs/steps/pipeline.py).
    with warnings.catch_warnings(), _errors(f"video generation ({model})"):
        warnings.simplefilter("ignore", DeprecationWarning)
        video = api.create(model=model, prompt=prompt, seconds=str(seconds), size=size)  # type: ignore[arg-type]
        while video.status in ("queued", "in_progress"):
            if on_progress:
                on_progress(int(video.progress or 0))
            if ctx is not None:
                ctx.sleep(conf.video_poll_interval())
            video = api.retrieve(video.id)
        if video.status != "completed":
            reason = getattr(video.error, "message", "") if video.error else ""
            raise PermanentError(
                f"The video model {model} could not make the video: {reason or video.status}"
            )
        content = api.download_content(video.id).read()
    usage = {"video_seconds": int(seconds)}
    _record(ctx, usage)
    if not content:
        raise PermanentError(f"The video model {model} returned an empty file.")
    return AIResult(data=content, model=model, provider=OPENAI, usage=usage)


# --- helpers ---------------------------------------------------------------------------------


class _errors:
    """Turn SDK errors into what the queue understands: retry later, or fail for good."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if isinstance(exc, json.JSONDecodeError):
            # The SDK hands a body that is not JSON straight through: a broken proxy or server.
            message = f"The AI server's answer to {self.what} is not valid JSON."
            raise AIUnavailable(message) from exc
        if exc is None or not isinstance(exc, openai.OpenAIError):
            return None
        raise _translate(exc, self.what) from exc


def _translate(exc: openai.OpenAIError, what: str) -> Exception:
    if isinstance(exc, openai.APITimeoutError):
        return AIUnavailable(f"The AI server did not answer {what} in time ({conf.timeout():g}s).")
    if isinstance(exc, openai.APIConnectionError):
        return AIUnavailable(f"Could not reach the AI server for {what}: {redact(str(exc))}")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        message = _error_message(exc)
        if status == 429:
            return AIUnavailable(
                f"Rate limited by the AI server for {what} after {conf.max_retries()} retries "
                f"(429): {message}"
            )
        if status >= 500 or status in (408, 409):
            return AIUnavailable(f"The AI server failed on {what} ({status}): {message}")
        code = str(getattr(exc, "code", "") or "")
        if "content" in code and ("policy" in code or "filter" in code):
            return PermanentError(f"The content filter blocked {what}: {message}")
        if status in (401, 403):
            return PermanentError(
                f"The AI server refused the credentials for {what} ({status}): {message}. "
                "Check OPENAI_API_KEY."
            )
        return PermanentError(f"The AI server rejected {what} ({status}): {message}")
    if isinstance(exc, openai.APIResponseValidationError | openai.APIError):
        return AIUnavailable(
            f"The AI server's answer to {what} could not be read: {redact(str(exc))}"
        )
    return PermanentError(f"{what} failed: {redact(str(exc))}")


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    message = str(exc.message)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            message = str(inner["message"])
    return redact(message)[:500]


_KEY_LIKE = re.compile(r"\b(sk|rk|pk)-[A-Za-z0-9_\-*.]{3,}")


def redact(text: str) -> str:
    """Remove the API key, and anything that looks like one (OpenAI echoes masked keys in
    401 messages), from text that ends up in job errors, logs and pages."""
    key = conf.openai_api_key()
    if key:
        text = text.replace(key, "[redacted]")
    return _KEY_LIKE.sub("[redacted key]", text)


def _refuse_unfinished(response: Any, what: str) -> None:
    status = getattr(response, "status", None)
    if status == "incomplete":
        details = getattr(response, "incomplete_details", None)
        reason = getattr(details, "reason", None) or "unknown"
        if reason == "content_filter":
            raise PermanentError(f"The content filter stopped the answer for {what}.")
        raise PermanentError(f"The model's answer for {what} was cut off ({reason}).")
    if status == "failed":
        error = getattr(response, "error", None)
        raise AIUnavailable(
            f"The model failed to answer {what}: {getattr(error, 'message', '') or 'no reason'}"
        )
    for item in getattr(response, "output", None) or []:
        for part in getattr(item, "content", None) or []:
            if getattr(part, "type", "") == "refusal":
                raise PermanentError(
                    f"The model refused {what}: {getattr(part, 'refusal', '')[:300]}"
                )


def _usage(usage: Any) -> dict[str, int]:
    if usage is None:
        return {}
    if hasattr(usage, "model_dump"):
        usage = usage.model_dump()
    if not isinstance(usage, dict):
        return {}
    out: dict[str, int] = {}
    for key in ("input_tokens", "output_tokens", "total_tokens", "prompt_tokens"):
        value = usage.get(key)
        if isinstance(value, int):
            out["input_tokens" if key == "prompt_tokens" else key] = value
    if isinstance(usage.get("completion_tokens"), int):
        out["output_tokens"] = usage["completion_tokens"]
    if usage.get("type") == "duration" and isinstance(usage.get("seconds"), int | float):
        out["audio_seconds"] = round(usage["seconds"])
    return out


def _record(ctx: JobContext | None, usage: dict[str, int]) -> None:
    if ctx is not None and usage:
        ctx.add_usage(usage)


def _check(ctx: JobContext | None) -> None:
    if ctx is not None:
        ctx.check()


def chunks[T](items: list[T], size: int) -> Iterable[list[T]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]
