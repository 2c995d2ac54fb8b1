"""A small OpenAI-compatible HTTP server for tests: real HTTP on 127.0.0.1, an ephemeral port.

The app talks to it exactly as to OpenAI, through ``OPENAI_BASE_URL``; nothing patches the SDK.

Use the ``fake_openai`` fixture (it starts a server, points the settings at it, and stops it)::

    def test_something(fake_openai):
        fake_openai.fail_next(2, status=429, retry_after=1)   # then answers normally
        ...
        assert fake_openai.count("/v1/responses") == 3

or start one yourself: ``server = FakeOpenAI().start()`` … ``server.stop()``; for a worker
subprocess pass ``env=server.env()``.

Endpoints
    POST /v1/responses             Responses API. With ``text.format`` of type json_schema the
                                   answer is JSON made to fit that schema (see ``sample()``).
    POST /v1/audio/transcriptions  multipart; ``verbose_json`` with segments (SPEECH), or json.
    POST /v1/images/generations    a real PNG as ``b64_json``.
    POST /v1/audio/speech          a real MP3 (a 2-second tone, made with ffmpeg on first use).
    POST /v1/videos                multipart; a video job. GET /v1/videos/{id} reports
                                   in_progress once, then completed; GET …/content is a real
                                   MP4 (made with ffmpeg on first use).
    GET  /v1/models                a model list.
Every answer carries ``usage`` like OpenAI's: Responses usage has ``input_tokens_details.
cached_tokens`` (a quarter of a prompt of 1024+ tokens, in 128-token blocks) and
``output_tokens_details.reasoning_tokens`` (64/256/1024 for reasoning effort low/medium/high);
every answer has an ``x-request-id`` header.

Steering (each applies to the next N matching requests, in the order given; ``path`` limits a
rule to requests whose path starts with it):
    fail_next(n, status=500, retry_after=None, message=…, code=None, path=None)
        answer ``status`` with an OpenAI-style error body (and a Retry-After header if given).
    slow_next(n, seconds, path=None)     wait ``seconds`` before answering normally.
    malformed_next(n, path=None)         answer 200 with a body that is not JSON.
    drop_next(n, path=None)              close the connection without answering.
    raw_next(body, n=1, status=200, path=None)
        answer exactly ``body`` (a dict, sent as JSON): for refusals, incomplete responses…
    answer_next(data, n=1, path="/v1/responses", schema=None)
        the model's output text is ``data`` (a dict/list is sent as JSON, a str as it is):
        use it for answers that do not fit the schema. ``schema`` limits it to requests whose
        structured-output format has that name (e.g. "sop").
    reset()                              forget rules and recorded requests.

Inspecting
    requests: list[Recorded]     method, path, headers (lower-case names), json (or None), form,
                                 files ({field: (filename, bytes)}), time (monotonic), and
                                 ``answered``: the steering rule that answered it ("429",
                                 "500", … for fail_next, "slow", "malformed", "drop", "raw";
                                 "" for a normal answer).
    count(path_prefix)           how many requests were made to paths starting with it.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import itertools
import json
import struct
import subprocess
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

API_KEY = "sk-fake-test-key-not-a-secret"

#: What the fake speech-to-text "hears", whatever the audio.
SPEECH: list[dict[str, Any]] = [
    {"start": 0.0, "end": 1.2, "text": "Open the settings page."},
    {"start": 1.2, "end": 2.6, "text": "Click Save to keep the changes."},
]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    time: float = field(default_factory=time.monotonic)
    answered: str = ""


@dataclass
class _Rule:
    kind: str  # fail | slow | malformed | drop | raw | answer
    remaining: int
    path: str | None
    options: dict[str, Any]

    def matches(self, path: str) -> bool:
        return self.remaining > 0 and (self.path is None or path.startswith(self.path))


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._videos: dict[str, dict[str, Any]] = {}
        self._media: dict[str, bytes] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the server first"
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/v1"

    def env(self) -> dict[str, str]:
        """Environment for a worker subprocess that should use this server."""
        return {"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": self.base_url}

    # --- steering ------------------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 500,
        retry_after: float | None = None,
        message: str = "",
        code: str | None = None,
        path: str | None = None,
    ) -> None:
        self._add(
            "fail", n, path, status=status, retry_after=retry_after, message=message, code=code
        )

    def slow_next(self, n: int = 1, *, seconds: float, path: str | None = None) -> None:
        self._add("slow", n, path, seconds=seconds)

    def malformed_next(self, n: int = 1, *, path: str | None = None) -> None:
        self._add("malformed", n, path)

    def drop_next(self, n: int = 1, *, path: str | None = None) -> None:
        self._add("drop", n, path)

    def raw_next(
        self, body: dict[str, Any], *, n: int = 1, status: int = 200, path: str | None = None
    ) -> None:
        self._add("raw", n, path, body=body, status=status)

    def answer_next(
        self, data: Any, *, n: int = 1, path: str = "/v1/responses", schema: str | None = None
    ) -> None:
        self._add("answer", n, path, data=data, schema=schema)

    def reset(self) -> None:
        with self._lock:
            self._rules.clear()
            self.requests.clear()

    def count(self, path_prefix: str = "/v1/") -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path.startswith(path_prefix))

    def _add(self, kind: str, n: int, path: str | None, **options: Any) -> None:
        with self._lock:
            self._rules.append(_Rule(kind, n, path, options))

    def _take(self, path: str, kinds: tuple[str, ...], schema: str | None = None) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                wanted = rule.options.get("schema")
                if wanted is not None and wanted != schema:
                    continue
                if rule.kind in kinds and rule.matches(path):
                    rule.remaining -= 1
                    return rule
        return None

    # --- answers -------------------------------------------------------------------------

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    def media(self, kind: str) -> bytes:
        """A real MP4 (2 s test pattern) or MP3 (2 s tone), made once with ffmpeg."""
        sources = {
            "mp4": [
                *("-f", "lavfi", "-i", "testsrc=size=320x180:rate=10:duration=2"),
                *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
            ],
            "mp3": ["-f", "lavfi", "-i", "sine=frequency=520:duration=2", "-c:a", "libmp3lame"],
        }
        with self._lock:
            if kind not in self._media:
                with tempfile.TemporaryDirectory() as tmp:
                    target = Path(tmp) / f"fake.{kind}"
                    subprocess.run(
                        ["ffmpeg", "-nostdin", "-y", "-v", "error", *sources[kind], str(target)],
                        check=True,
                    )
                    self._media[kind] = target.read_bytes()
            return self._media[kind]


# --- the request handler ---------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a timeout test) is no error of the server's."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeOpenAI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        fake = self.server_fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        record = Recorded(
            method=method, path=path, headers={k.lower(): v for k, v in self.headers.items()}
        )
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/json") and raw:
            try:
                record.json = json.loads(raw)
            except ValueError:
                record.json = None
        elif content_type.startswith("multipart/form-data"):
            record.form, record.files = _multipart(content_type, raw)
        with fake._lock:
            fake.requests.append(record)

        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            return self._error(401, "Incorrect API key provided.", code="invalid_api_key")
        rule = fake._take(path, ("fail", "slow", "malformed", "drop", "raw"))
        if rule is not None:
            record.answered = str(rule.options["status"]) if rule.kind == "fail" else rule.kind
        if rule is not None and rule.kind == "slow":
            time.sleep(rule.options["seconds"])
        elif rule is not None and rule.kind == "fail":
            opts = rule.options
            headers = {}
            if opts["retry_after"] is not None:
                headers["Retry-After"] = f"{opts['retry_after']:g}"
            message = opts["message"] or f"Fake failure {opts['status']}"
            return self._error(opts["status"], message, code=opts["code"], headers=headers)
        elif rule is not None and rule.kind == "raw":
            return self._json(rule.options["status"], rule.options["body"])
        elif rule is not None and rule.kind == "drop":
            self.close_connection = True
            return None
        elif rule is not None and rule.kind == "malformed":
            return self._send(200, b'{"id": "resp_broken", "output": [', "application/json")

        routes = {
            ("POST", "/v1/responses"): self._responses,
            ("POST", "/v1/audio/transcriptions"): self._transcriptions,
            ("POST", "/v1/images/generations"): self._images,
            ("POST", "/v1/audio/speech"): self._speech,
            ("POST", "/v1/videos"): self._video_create,
            ("GET", "/v1/models"): self._models,
        }
        route = routes.get((method, path))
        if route is not None:
            return route(record)
        if method == "GET" and path.startswith("/v1/videos/"):
            return self._video_get(path.removeprefix("/v1/videos/"))
        return self._error(404, f"Unknown path {method} {path}", code="unknown_url")

    # --- endpoints ------------------------------------------------------------------------

    def _output_for(self, path: str, schema: dict[str, Any] | None, name: str | None) -> str:
        rule = self.server_fake._take(path, ("answer",), name)
        if rule is not None:
            data = rule.options["data"]
            return data if isinstance(data, str) else json.dumps(data)
        if schema is not None:
            return json.dumps(sample(schema))
        return "This is a fake answer."

    def _responses(self, record: Recorded) -> None:
        body = record.json or {}
        fmt = ((body.get("text") or {}).get("format")) or {}
        schema = fmt.get("schema") if fmt.get("type") == "json_schema" else None
        text = self._output_for(record.path, schema, fmt.get("name"))
        tokens_in = len(json.dumps(body)) // 4
        tokens_out = max(1, len(text) // 4)
        # Like OpenAI: a prompt of 1024+ tokens is cached from the second time on (here: a
        # quarter of it, in whole 128-token blocks); reasoning models think before they answer.
        cached = (tokens_in // 4) // 128 * 128 if tokens_in >= 1024 else 0
        effort = (body.get("reasoning") or {}).get("effort")
        reasoning = {"low": 64, "medium": 256, "high": 1024}.get(str(effort), 0)
        self._json(
            200,
            {
                "id": self.server_fake._next_id("resp"),
                "object": "response",
                "created_at": int(time.time()),
                "status": "completed",
                "model": body.get("model", "fake-model"),
                "output": [
                    {
                        "type": "message",
                        "id": self.server_fake._next_id("msg"),
                        "status": "completed",
                        "role": "assistant",
                        "content": [{"type": "output_text", "text": text, "annotations": []}],
                    }
                ],
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
                "usage": {
                    "input_tokens": tokens_in,
                    "input_tokens_details": {"cached_tokens": cached},
                    "output_tokens": tokens_out + reasoning,
                    "output_tokens_details": {"reasoning_tokens": reasoning},
                    "total_tokens": tokens_in + tokens_out + reasoning,
                },
            },
        )

    def _transcriptions(self, record: Recorded) -> None:
        if "file" not in record.files or not record.files["file"][1]:
            return self._error(400, "No audio file was sent.", code="invalid_file")
        text = " ".join(s["text"] for s in SPEECH)
        if record.form.get("response_format") == "verbose_json":
            segments = [
                {"id": i, "seek": 0, "start": s["start"], "end": s["end"], "text": " " + s["text"]}
                | {"tokens": [], "temperature": 0.0, "avg_logprob": -0.1}
                | {"compression_ratio": 1.0, "no_speech_prob": 0.01}
                for i, s in enumerate(SPEECH)
            ]
            return self._json(
                200,
                {
                    "task": "transcribe",
                    "language": "english",
                    "duration": SPEECH[-1]["end"],
                    "text": text,
                    "segments": segments,
                    "usage": {"type": "duration", "seconds": 3},
                },
            )
        return self._json(
            200,
            {
                "text": text,
                "usage": {
                    "type": "tokens",
                    "input_tokens": 30,
                    "output_tokens": 12,
                    "total_tokens": 42,
                },
            },
        )

    def _images(self, record: Recorded) -> None:
        body = record.json or {}
        width, height = (int(v) for v in str(body.get("size", "64x64")).split("x"))
        png = _png(min(width, 256), min(height, 256))
        self._json(
            200,
            {
                "created": int(time.time()),
                "data": [{"b64_json": base64.b64encode(png).decode()}],
                "usage": {"input_tokens": 20, "output_tokens": 100, "total_tokens": 120},
            },
        )

    def _speech(self, record: Recorded) -> None:
        body = record.json or {}
        if not str(body.get("input", "")).strip():
            return self._error(400, "input is empty", code="invalid_input")
        return self._send(200, self.server_fake.media("mp3"), "audio/mpeg")

    def _video_create(self, record: Recorded) -> None:
        fake = self.server_fake
        video: dict[str, Any] = {
            "id": fake._next_id("video"),
            "object": "video",
            "created_at": int(time.time()),
            "status": "queued",
            "progress": 0,
            "model": record.form.get("model", "sora-2"),
            "seconds": record.form.get("seconds", "4"),
            "size": record.form.get("size", "1280x720"),
            "prompt": record.form.get("prompt", ""),
        }
        with fake._lock:
            fake._videos[video["id"]] = video
        self._json(200, video)

    def _video_get(self, rest: str) -> None:
        fake = self.server_fake
        video_id, _, tail = rest.partition("/")
        video = fake._videos.get(video_id)
        if video is None:
            return self._error(404, f"No video {video_id}", code="not_found")
        if tail == "content":
            if video["status"] != "completed":
                return self._error(400, "The video is not ready.", code="not_ready")
            return self._send(200, fake.media("mp4"), "video/mp4")
        with fake._lock:
            if video["status"] == "queued":
                video |= {"status": "in_progress", "progress": 50}
            elif video["status"] == "in_progress":
                video |= {"status": "completed", "progress": 100, "completed_at": int(time.time())}
        self._json(200, video)

    def _models(self, record: Recorded) -> None:
        names = [
            "gpt-5.4-mini",
            "gpt-transcribe",
            "whisper-1",
            "gpt-image-2",
            "gpt-4o-mini-tts",
            "sora-2",
        ]
        data = [{"id": n, "object": "model", "created": 0, "owned_by": "fake"} for n in names]
        self._json(200, {"object": "list", "data": data})

    # --- plumbing -------------------------------------------------------------------------

    def _error(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        kind = (
            "rate_limit_error"
            if status == 429
            else "server_error"
            if status >= 500
            else "invalid_request_error"
        )
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        self._json(status, body, headers=headers)

    def _json(self, status: int, body: Any, *, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", headers=headers)

    def _send(
        self, status: int, data: bytes, content_type: str, *, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("x-request-id", f"req_fake_{next(self.server_fake._ids)}")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _multipart(
    content_type: str, raw: bytes
) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    form: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = str(part.get_param("name", header="content-disposition"))
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        payload = payload if isinstance(payload, bytes) else b""
        if filename is not None:
            files[name] = (filename, payload)
        else:
            form[name] = payload.decode()
    return form, files


def sample(schema: dict[str, Any], name: str = "value", index: int = 0) -> Any:
    """A value that fits ``schema`` (the subset structured outputs use), built from the
    property names so answers read like something: ``{"title": "Sample title", …}``. Array
    items differ by their index (numbers count up within their bounds, strings are numbered)."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return {key: sample(sub, key, index) for key, sub in schema.get("properties", {}).items()}
    if kind == "array":
        count = max(2, schema.get("minItems", 0))
        return [sample(schema.get("items", {}), name, i) for i in range(count)]
    if kind == "string":
        return f"Sample {name.replace('_', ' ')}" + (f" {index + 1}" if index else "")
    if kind in ("number", "integer"):
        low = schema.get("minimum", 0)
        high = schema.get("maximum", low + 1 + index)
        value = min(max(1, low) + index, high)
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    return None


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + b"".join(bytes((x * 255 // max(1, width - 1), 80, 160)) for x in range(width))
    rows = row * height
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def fake_openai(settings) -> Iterator[FakeOpenAI]:
    """A running fake server; the app's settings point at it for the test."""
    server = FakeOpenAI().start()
    settings.OPENAI_API_KEY = API_KEY
    settings.OPENAI_BASE_URL = server.base_url
    settings.OPENAI_MAX_RETRIES = 3
    settings.OPENAI_TIMEOUT = 10.0
    settings.OPENAI_VIDEO_POLL_INTERVAL = 0.01
    try:
        yield server
    finally:
        server.stop()
