"""Every error the API answers is JSON in one shape, and says which field is wrong and why:

    {"error": "invalid_request", "message": "…",
     "fields": [{"field": "payload", "location": "body", "message": "…"}]}

No stack trace ever reaches a client; an unexpected exception is logged and answered with a
generic 500 (the fuzz test in tests/api makes sure that does not happen).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from briefs.exceptions import BriefError
from jobs.exceptions import EnqueueRefused, InvalidPayload, JobError, UnknownJobType

logger = logging.getLogger("api")


def require_object_body(request: HttpRequest) -> None:
    """An optional JSON body must be an object (or ``null``, or absent): django-ninja reads any
    other JSON (a list, a number, a string) as no body at all, which would run the endpoint
    with its defaults instead of refusing the request."""
    raw = request.body.strip()
    if raw and not raw.startswith(b"{") and raw != b"null":
        raise ApiError(
            422,
            "invalid_request",
            "The request body must be a JSON object.",
            field="body",
            location="body",
        )


class FieldError(Schema):
    field: str
    #: where the field is: body, query, path or header
    location: str
    message: str


class ErrorOut(Schema):
    error: str
    message: str
    fields: list[FieldError] = []


class ApiError(Exception):
    """Raised by endpoints for an answer other than success; becomes an ``ErrorOut``."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        field: str | None = None,
        location: str = "body",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.fields = [{"field": field, "location": location, "message": message}] if field else []
        self.headers = headers or {}


def not_found(what: str = "Object") -> ApiError:
    return ApiError(404, "not_found", f"{what} not found.")


#: Error answers every authenticated operation may give (for the OpenAPI schema).
COMMON_ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut}


def _body(error: str, message: str, fields: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"error": error, "message": message, "fields": fields or []}


def _field_of(loc: list[Any]) -> tuple[str, str]:
    """``["body", "data", "payload"]`` -> (``"payload"``, ``"body"``)."""
    location = str(loc[0]) if loc else "body"
    parts = [str(part) for part in loc[1:]]
    # ninja wraps a body schema in the parameter name; the client never sees that level.
    if location == "body" and len(parts) > 1 and parts[0] == "data":
        parts = parts[1:]
    return ".".join(parts) or location, location


def install(api: NinjaAPI) -> None:
    """Register the handlers that turn every exception into the JSON above."""

    def respond(
        request: HttpRequest,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        response = api.create_response(request, body, status=status)
        for name, value in (headers or {}).items():
            response[name] = value
        return response

    @api.exception_handler(ApiError)
    def api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return respond(request, exc.status, _body(exc.error, exc.message, exc.fields), exc.headers)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        fields = []
        for item in exc.errors:
            field, location = _field_of(list(item.get("loc", [])))
            fields.append({"field": field, "location": location, "message": str(item.get("msg"))})
        summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
        return respond(
            request, 422, _body("invalid_request", f"Invalid request. {summary}", fields)
        )

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        message = (
            "Authentication required: send 'Authorization: Bearer <token>' with a personal API "
            "token (created in the admin), or log in."
        )
        return respond(
            request,
            401,
            _body("unauthenticated", message),
            {"WWW-Authenticate": 'Bearer realm="api"'},
        )

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        message = str(exc)
        if exc.status_code == 400 and message.startswith("Cannot parse request body"):
            message = "The request body is not valid JSON."
        codes = {400: "bad_request", 403: "forbidden", 404: "not_found", 429: "too_many_requests"}
        return respond(
            request, exc.status_code, _body(codes.get(exc.status_code, "error"), message)
        )

    @api.exception_handler(Http404)
    def http404(request: HttpRequest, exc: Http404) -> HttpResponse:
        return respond(request, 404, _body("not_found", "Not found."))

    @api.exception_handler(UnknownJobType)
    def unknown_type(request: HttpRequest, exc: UnknownJobType) -> HttpResponse:
        fields = [{"field": "type", "location": "path", "message": str(exc)}]
        return respond(request, 404, _body("unknown_job_type", str(exc), fields))

    @api.exception_handler(InvalidPayload)
    def invalid_payload(request: HttpRequest, exc: InvalidPayload) -> HttpResponse:
        fields = [{"field": "payload", "location": "body", "message": str(exc)}]
        return respond(request, 422, _body("invalid_payload", str(exc), fields))

    @api.exception_handler(EnqueueRefused)
    def enqueue_refused(request: HttpRequest, exc: EnqueueRefused) -> HttpResponse:
        """A hook receiver refused the work (not enough credits: 402)."""
        return respond(request, exc.http_status, _body(exc.code, f"{exc} Nothing was started."))

    @api.exception_handler(BriefError)
    def brief_error(request: HttpRequest, exc: BriefError) -> HttpResponse:
        return respond(request, 409, _body("brief_conflict", str(exc)))

    @api.exception_handler(DjangoValidationError)
    def model_validation(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        if hasattr(exc, "error_dict"):
            fields = [
                {"field": name, "location": "body", "message": " ".join(messages)}
                for name, messages in exc.message_dict.items()
            ]
        else:
            fields = []
        message = "; ".join(f"{f['field']}: {f['message']}" for f in fields) or " ".join(
            exc.messages
        )
        return respond(request, 422, _body("invalid_request", message, fields))

    @api.exception_handler(SuspiciousOperation)
    def suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
        logger.warning("Refused a suspicious request to %s", request.path)
        return respond(request, 400, _body("bad_request", "The request was refused as unsafe."))

    @api.exception_handler(JobError)
    def job_error(request: HttpRequest, exc: JobError) -> HttpResponse:
        return respond(request, 409, _body("job_error", str(exc)))

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("Unhandled error in %s %s", request.method, request.path)
        message = "Something went wrong on our side. It has been logged; please try again later."
        return respond(request, 500, _body("server_error", message))
