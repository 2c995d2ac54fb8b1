"""Request bodies stop at the limit: a body larger than the biggest upload allowed is refused
before a byte of it is read, and an upload handler stops any body that grows past it (a
client that sends no length, or a wrong one). Nothing over the limit reaches the disk."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse, JsonResponse

from briefs import conf as briefs_conf

#: Room for the multipart envelope and ordinary form fields around the file itself.
ENVELOPE_BYTES = 1024 * 1024


def body_limit() -> int:
    return briefs_conf.asset_max_bytes() + ENVELOPE_BYTES


def too_large(request: HttpRequest, size: int | None) -> HttpResponse:
    limit = briefs_conf.asset_max_bytes()
    said = f"The request body is {size:,} bytes" if size else "The request body is too large"
    message = f"{said}; files may be at most {limit:,} bytes."
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"error": "too_large", "message": message, "fields": []}, status=413
        )
    else:
        response = HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
    return response


class BodyLimitMiddleware:
    """Answer 413 at once when ``Content-Length`` says the body is over the limit."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size > body_limit():
            return too_large(request, size)
        return self.get_response(request)


class LimitedUploadHandler(FileUploadHandler):
    """Refuses the request once the files in it pass the body limit (a safety net behind
    :class:`BodyLimitMiddleware`, for a body longer than its length said).

    The limit is the body's, not one file's: a file a little over ``BRIEFS_ASSET_MAX_BYTES``
    reaches the form or endpoint, which says which file is too large. And the request is
    refused (400), never carried on without the file, which would save a brief without it."""

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.received = 0
        self.limit = body_limit()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.limit:
            raise RequestDataTooBig(
                f"The files sent are over {self.limit:,} bytes, more than the request said."
            )
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


class NulCharacterMiddleware:
    """Refuse a query string or form with a NUL character (``%00``) with a 400 that says so:
    PostgreSQL cannot store or even compare text holding one, so a filter or search with it
    would otherwise end in a database error (a 500) on any page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = _nul_in(request.GET, "query string")
        if where is None and request.method == "POST" and _is_form(request):
            where = _nul_in(request.POST, "form")
        if where is None:
            return self.get_response(request)
        message = f"The {where} contains a NUL character (%00), which cannot be used; remove it."
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"error": "bad_request", "message": message, "fields": []}, status=400
            )
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


def _is_form(request: HttpRequest) -> bool:
    return request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")


def _nul_in(data: Any, where: str) -> str | None:
    for key, values in data.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            return where
    return None
