"""Every call to OpenAI (or any OpenAI-compatible server) goes through this module.

Settings (``briefs/conf.py``): ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``OPENAI_MODEL``,
``OPENAI_VISION_MODEL``, ``OPENAI_TRANSCRIBE_MODEL``, ``OPENAI_IMAGE_MODEL``,
``OPENAI_TTS_MODEL``, ``OPENAI_TTS_VOICE``, ``OPENAI_VIDEO_MODEL``, ``OPENAI_TIMEOUT``,
``OPENAI_MAX_RETRIES``, ``OPENAI_STORE``, ``OPENAI_REASONING_EFFORT``.

- Provider: ``openai`` when a key is set, otherwise ``offline``: each caller passes an
  ``offline`` function that makes a simple deterministic result, and every result says which
  provider and model made it. The offline provider is never used when a key is set.
- Structured answers: one Pydantic model per answer (``briefs/schemas.py``) makes the request's
  ``text.format`` (strict) and checks the answer; offline results are checked by it too.
- Spend: before every paid call the budget caps are checked (``briefs/spend/budgets.py``: a
  reached cap raises :class:`~jobs.exceptions.JobHeld`, the job waits); after it, one usage
  row is written with its cost (``briefs/spend/usage.py``). Offline calls are recorded too, at
  no cost, with provider ``offline``.
- Privacy: requests to the Responses API carry ``store=False`` unless ``OPENAI_STORE`` is on.
- Retries: the SDK retries 408/409/429/5xx and connection errors up to ``OPENAI_MAX_RETRIES``
  times with exponential backoff, honouring ``Retry-After``/``retry-after-ms``. When it gives up
  we raise :class:`AIUnavailable` (the job is retried later by the queue).
- Errors retrying cannot fix (bad request, auth, content filter, a refusal, an answer that does
  not fit the schema) raise :class:`~jobs.exceptions.PermanentError` with a readable reason:
  the job fails at once.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import openai
from pydantic import BaseModel

from briefs import conf
from briefs.prompts import Prompt
from briefs.schemas import SchemaMismatch, openai_format, parse, storable
from briefs.spend import budgets
from briefs.spend.models import Kind
from briefs.spend.usage import Usage, record
from jobs.exceptions import PermanentError, QueueHeld

if TYPE_CHECKING:
    from jobs.context import JobContext

logger = logging.getLogger("briefs.ai")

OFFLINE = "offline"
OPENAI = "openai"


class AIUnavailable(Exception):
    """The AI server could not answer now (rate limit, server error, network): retry later."""


class AIRateLimited(QueueHeld, AIUnavailable):
    """429 with Retry-After after the SDK's retries: the worker holds the job's queue on every
    worker until then and puts the job back without losing an attempt (``jobs/queues.py``)."""


@dataclass
class AIResult:
    data: Any
    model: str
    provider: str
    usage: dict[str, Any] = field(default_factory=dict)
    cost: Decimal = Decimal(0)

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
    schema: type[BaseModel],
    schema_name: str,
    offline: Callable[[], Any],
    model: str | None = None,
) -> AIResult:
    """Ask the Responses API for JSON that fits ``schema`` (a Pydantic model; strict
    structured output), and check the answer with the same model.

    ``content`` is the user's input: text, or a list of Responses input parts (text and
    images). The reasoning effort is ``OPENAI_REASONING_EFFORT[schema_name]``.
    """
    parts = [{"type": "input_text", "text": content}] if isinstance(content, str) else content
    kind = Kind.VISION if any(p.get("type") == "input_image" for p in parts) else Kind.TEXT
    if provider() == OFFLINE:
        try:
            data = parse(offline(), schema, name=schema_name)
        except SchemaMismatch as exc:
            raise PermanentError(f"The offline provider's answer is wrong: {exc}") from None
        return _offline(ctx, kind, data)
    model = model or conf.text_model()
    options: dict[str, Any] = {"store": conf.store()}
    effort = conf.reasoning_effort(schema_name, model)
    if effort:
        options["reasoning"] = {"effort": effort}
    call = _Call(ctx, f"{schema_name} ({model})")
    with call:
        raw = client().responses.with_raw_response.create(  # type: ignore[call-overload]
            model=model,
            instructions=prompt.text,
            input=[{"role": "user", "content": parts}],
            text={"format": openai_format(schema, name=schema_name)},
            **options,
        )
        response = raw.parse()
    cost = call.record(raw, model=response.model or model, kind=kind, usage=response.usage)
    _refuse_unfinished(response, schema_name)
    try:
        data = parse(response.output_text, schema, name=schema_name)
    except SchemaMismatch as exc:
        raise PermanentError(str(exc)) from None
    return AIResult(
        data=data, model=response.model or model, provider=OPENAI, usage=call.usage, cost=cost
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

    Models that give segments (``verbose_json``: ``gpt-transcribe``, ``whisper-1``) give them;
    models that only give text (``gpt-4o-*transcribe``) give one segment spanning the audio.
    Priced by the minute of audio sent.
    """
    if provider() == OFFLINE:
        usage = Usage(audio_seconds=Decimal(str(round(duration, 3))))
        return _offline(ctx, Kind.SPEECH_TO_TEXT, offline(), usage)
    model = conf.transcribe_model()
    verbose = not model.startswith("gpt-4o")  # gpt-4o-*transcribe answer plain JSON only
    call = _Call(ctx, f"transcription ({model})")
    raw: Any
    with call, path.open("rb") as audio:
        if verbose:
            raw = client().audio.transcriptions.with_raw_response.create(
                model=model,
                file=audio,
                response_format="verbose_json",
                timestamp_granularities=["segment"],
            )
        else:
            raw = client().audio.transcriptions.with_raw_response.create(
                model=model, file=audio, response_format="json"
            )
        response = raw.parse()
    usage = Usage.from_api(getattr(response, "usage", None))
    usage.audio_seconds = usage.audio_seconds or Decimal(str(round(duration, 3)))
    cost = call.record(raw, model=model, kind=Kind.SPEECH_TO_TEXT, usage=usage)
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
        usage=call.usage,
        cost=cost,
    )


def generate_image(
    *, ctx: JobContext | None, prompt: str, size: str, offline: Callable[[], bytes]
) -> AIResult:
    """An image from a prompt; ``data`` is the PNG bytes."""
    if provider() == OFFLINE:
        return _offline(ctx, Kind.IMAGE, offline(), Usage(images=1))
    model = conf.image_model()
    call = _Call(ctx, f"image generation ({model})")
    with call:
        raw = client().images.with_raw_response.generate(
            model=model,
            prompt=prompt,
            size=size,  # type: ignore[arg-type]
            n=1,
        )
        response = raw.parse()
    usage = Usage.from_api(getattr(response, "usage", None))
    usage.images = 1
    cost = call.record(raw, model=model, kind=Kind.IMAGE, usage=usage)
    items = response.data or []
    if not items or not items[0].b64_json:
        raise PermanentError(f"The image model {model} returned no image data.")
    try:
        image = base64.b64decode(items[0].b64_json, validate=True)
    except ValueError:
        raise PermanentError(f"The image model {model} returned data that is not base64.") from None
    return AIResult(data=image, model=model, provider=OPENAI, usage=call.usage, cost=cost)


def speak(*, ctx: JobContext | None, text: str, offline: Callable[[], bytes | None]) -> AIResult:
    """Narration: text-to-speech as MP3 bytes (``data`` is None when narration is off).
    The speech API reports no usage: the call is priced by the characters sent."""
    model = conf.tts_model()
    if provider() == OFFLINE:
        return _offline(ctx, Kind.SPEECH, offline(), Usage(characters=len(text[:4000])))
    if not model:
        return AIResult(data=None, model="", provider=OPENAI)
    call = _Call(ctx, f"narration ({model})")
    with call:
        raw = client().audio.speech.with_raw_response.create(
            model=model,
            voice=conf.tts_voice(),  # type: ignore[arg-type]
            input=text[:4000],
            response_format="mp3",
        )
        audio = raw.parse().read()
    usage = Usage(characters=len(text[:4000]))
    cost = call.record(raw, model=model, kind=Kind.SPEECH, usage=usage)
    if not audio:
        raise PermanentError(f"The speech model {model} returned no audio.")
    return AIResult(data=audio, model=model, provider=OPENAI, usage=call.usage, cost=cost)


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
        return _offline(ctx, Kind.VIDEO, offline(), Usage(video_seconds=Decimal(int(seconds))))
    model = conf.video_model()
    api = client().videos
    call = _Call(ctx, f"video generation ({model})")
    # The SDK marks the videos API deprecated (Sora's shutdown); it stays for servers that
    # still offer it. The default path makes videos from keyframes (briefs/steps/pipeline.py).
    with warnings.catch_warnings(), call:
        warnings.simplefilter("ignore", DeprecationWarning)
        raw = api.with_raw_response.create(
            model=model,
            prompt=prompt,
            seconds=str(seconds),  # type: ignore[arg-type]
            size=size,  # type: ignore[arg-type]
        )
        video = raw.parse()
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
    usage = Usage(video_seconds=Decimal(int(seconds)))
    cost = call.record(raw, model=model, kind=Kind.VIDEO, usage=usage)
    if not content:
        raise PermanentError(f"The video model {model} returned an empty file.")
    return AIResult(data=content, model=model, provider=OPENAI, usage=call.usage, cost=cost)


def _offline(ctx: JobContext | None, kind: Kind, data: Any, usage: Usage | None = None) -> AIResult:
    """An offline result, recorded as a usage row of provider ``offline`` that costs $0."""
    usage = usage or Usage()
    record(ctx=ctx, provider=OFFLINE, model=OFFLINE, kind=kind, usage=usage)
    return AIResult(data=data, model=OFFLINE, provider=OFFLINE, usage=usage.as_dict())


class _Call:
    """One paid call: checks the budget and the job's stop before it, turns SDK errors into
    what the queue understands, and times it for its usage row."""

    def __init__(self, ctx: JobContext | None, what: str) -> None:
        self.ctx = ctx
        self.what = what
        self.started = 0.0
        self.duration_ms = 0
        self.usage: dict[str, Any] = {}

    def __enter__(self) -> _Call:
        budgets.check(self.ctx)
        if self.ctx is not None:
            self.ctx.check()
        self.started = time.monotonic()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        self.duration_ms = int((time.monotonic() - self.started) * 1000)
        _errors(self.what).__exit__(kind, exc, tb)

    def record(self, raw: Any, *, model: str, kind: Kind, usage: Any) -> Decimal:
        """Write the call's usage row; returns its cost."""
        found = usage if isinstance(usage, Usage) else Usage.from_api(usage)
        row = record(
            ctx=self.ctx,
            provider=OPENAI,
            model=model,
            kind=kind,
            usage=found,
            request_id=str(getattr(raw, "request_id", "") or ""),
            duration_ms=self.duration_ms,
            retried=bool(getattr(raw, "retries_taken", 0)),
        )
        self.usage = found.as_dict()
        return row.cost


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
        if status == 429 and (wait := _retry_after(exc)) and conf.hold_queue_on_rate_limit():
            return AIRateLimited(
                wait,
                f"Rate limited by the AI server for {what} (429, Retry-After {wait:g}s): {message}",
            )
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


def _retry_after(exc: openai.APIStatusError) -> float | None:
    """Seconds the server asked to wait (``retry-after-ms`` or ``Retry-After`` in seconds)."""
    headers = exc.response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            seconds = float(headers.get(name, "")) * scale
        except ValueError:  # absent, or an HTTP date: not honoured here
            continue
        if seconds > 0:
            return seconds
    return None


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


def chunks[T](items: list[T], size: int) -> Iterable[list[T]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]
