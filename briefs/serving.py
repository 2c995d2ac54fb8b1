"""Send a stored file to someone a view has already checked: with HTTP Range requests (206, 416)
so a browser's player can seek, or handed to the front server (``MEDIA_ACCEL_REDIRECT``):

- ``none``: Django streams the file (development, small sites);
- ``nginx``: an empty answer with ``X-Accel-Redirect: <MEDIA_ACCEL_PREFIX><name>``; nginx serves
  the file from an ``internal`` location (ranges included);
- ``apache``: ``X-Sendfile: <absolute path>`` for mod_xsendfile.

Only a view that checked access calls :func:`serve`; private files never have a public URL.
"""

from __future__ import annotations

import contextlib
import mimetypes
import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import IO, Any
from urllib.parse import quote

from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header, http_date

from briefs import conf

CHUNK = 64 * 1024

#: How a download view describes its answers in the OpenAPI schema (``openapi_extra``).
OPENAPI_FILE: dict[str, Any] = {
    "responses": {
        200: {"description": "The file.", "content": {"application/octet-stream": {}}},
        206: {"description": "The requested byte range of the file (`Range` header)."},
        416: {"description": "The requested range is outside the file."},
    }
}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Unsatisfiable(ValueError):
    pass


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single ``bytes=`` range, or None to send the whole file (no
    header, a syntax we do not serve such as several ranges, which RFC 9110 lets a server
    ignore). Raises :class:`Unsatisfiable` for a range that misses the file."""
    match = _RANGE.match(header.strip().replace(" ", "")) if header else None
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise Unsatisfiable
        return max(size - length, 0), size - 1
    start = int(first)
    if last and int(last) < start:
        return None  # invalid syntax: ignored
    if start >= size:
        raise Unsatisfiable
    end = int(last) if last else size - 1
    return start, min(end, size - 1)


#: Types for the extensions we store, where the machine's table may lack them or name
#: something else (Debian's /etc/mime.types says .ts is a Qt translation file).
MEDIA_TYPES = {
    ".ts": "video/mp2t",
    ".mkv": "video/x-matroska",
    ".mka": "audio/x-matroska",
    ".ogv": "video/ogg",
    ".ogg": "audio/ogg",
    ".m4a": "audio/mp4",
    ".wav": "audio/wav",
    ".vtt": "text/vtt",
    ".srt": "application/x-subrip",
}


def type_of(name: str) -> str:
    """The content type of a stored file, from its name: ours, never the user's suffix."""
    suffix = PurePosixPath(name).suffix.lower()
    known = MEDIA_TYPES.get(suffix) or mimetypes.guess_type(f"x{suffix}")[0]
    return known or "application/octet-stream"


def serve(
    request: HttpRequest,
    name: str,
    *,
    filename: str = "",
    content_type: str = "",
    attachment: bool = False,
) -> HttpResponse | StreamingHttpResponse:
    """The stored file ``name`` as the answer to ``request`` (GET or HEAD)."""
    filename = filename or name.rsplit("/", 1)[-1]
    content_type = content_type or type_of(name)
    mode = conf.media_accel_redirect()
    if mode == "nginx":
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = conf.media_accel_prefix() + quote(name)
        return _headers(response, filename, attachment)
    if mode == "apache":
        response = HttpResponse(content_type=content_type)
        response["X-Sendfile"] = default_storage.path(name)
        return _headers(response, filename, attachment)
    size = default_storage.size(name)
    try:
        wanted = parse_range(request.headers.get("Range", ""), size)
    except Unsatisfiable:
        response = HttpResponse(status=416, content_type="text/plain; charset=utf-8")
        response.content = b"The requested range is outside the file.\n"
        response["Content-Range"] = f"bytes */{size}"
        return _headers(response, filename, attachment)
    first, last = wanted if wanted else (0, size - 1)
    length = max(last - first + 1, 0)
    body: Iterator[bytes] = iter(()) if request.method == "HEAD" else _read(name, first, length)
    stream = StreamingHttpResponse(body, content_type=content_type, status=206 if wanted else 200)
    stream["Content-Length"] = str(length)
    if wanted:
        stream["Content-Range"] = f"bytes {first}-{last}/{size}"
    with contextlib.suppress(NotImplementedError, OSError):
        stream["Last-Modified"] = http_date(default_storage.get_modified_time(name).timestamp())
    return _headers(stream, filename, attachment)


def _read(name: str, first: int, length: int) -> Iterator[bytes]:
    handle: IO[bytes] = default_storage.open(name, "rb")
    try:
        handle.seek(first)
        left = length
        while left > 0:
            chunk = handle.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    finally:
        handle.close()


def _headers(response: Any, filename: str, attachment: bool) -> Any:
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = content_disposition_header(attachment, filename) or ""
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
