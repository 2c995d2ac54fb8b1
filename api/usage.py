"""``/api/usage``: what AI calls used and cost. Staff see everyone's, with filters and
grouping, and export the rows as CSV; a user sees their own."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from pydantic import AfterValidator, BeforeValidator

from api import access
from api.errors import COMMON_ERRORS, ApiError, ErrorOut
from api.schemas import Id
from briefs.spend import budgets, selectors
from briefs.spend.models import AICall, Kind

router = Router(tags=["usage"])

MAX_ROWS = 500
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


class UsageTotalsOut(Schema):
    calls: int
    cost: Decimal = Field(description="US dollars (a decimal string, never a float)")
    input_tokens: int = Field(description="Including cached input tokens")
    cached_input_tokens: int
    output_tokens: int = Field(description="Including reasoning tokens")
    reasoning_tokens: int
    audio_seconds: Decimal
    images: int
    video_seconds: Decimal
    characters: int


class UsageGroupOut(UsageTotalsOut):
    key: str | int | datetime | None = Field(description="The value grouped by")


class UsageRowOut(Schema):
    id: int
    created_at: datetime
    job_id: int | None
    job_type: str
    user_id: int | None
    brief_id: int | None
    provider: str
    model: str
    kind: str
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    audio_seconds: Decimal
    images: int
    video_seconds: Decimal
    characters: int
    request_id: str
    duration_ms: int
    retried: bool
    cost: Decimal
    priced: bool


class CapOut(Schema):
    scope: Literal["user", "everyone"]
    period: Literal["day", "month"]
    amount: Decimal
    spent: Decimal
    reached: bool
    resets_at: datetime


class UsageOut(Schema):
    totals: UsageTotalsOut
    group_by: str | None
    groups: list[UsageGroupOut]
    rows: list[UsageRowOut] = Field(description="The newest rows (up to `limit`)")
    caps: list[CapOut] = Field(description="The budget caps that apply to the caller")


def _iso_only(value: Any) -> Any:
    """Only ISO 8601 text (pydantic would also take ``0.5`` as a Unix time)."""
    if isinstance(value, str) and not ISO.match(value):
        raise ValueError("must be an ISO 8601 date-time, like 2026-11-01T00:00:00Z")
    return value


def _aware(value: datetime) -> datetime:
    """A time without a zone is in ``TIME_ZONE``."""
    return timezone.make_aware(value) if timezone.is_naive(value) else value


Moment = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_aware)]


class UsageParams(Schema):
    since: Moment | None = Field(None, description="Rows from this time (inclusive), ISO 8601")
    until: Moment | None = Field(None, description="Rows before this time, ISO 8601")
    model: str | None = Field(None, max_length=100)
    kind: Literal[tuple(Kind.values)] | None = None  # type: ignore[valid-type]
    job_type: str | None = Field(None, max_length=100)
    user_id: Id | None = Field(None, description="Staff only: one user's rows")
    brief_id: Id | None = None
    job_id: Id | None = None
    group_by: Literal[tuple(selectors.GROUPS)] | None = None  # type: ignore[valid-type]
    limit: int = Field(50, ge=0, le=MAX_ROWS)


#: Seeing everyone's usage rows (and exporting them) needs what the admin's list needs.
SEE_ALL = "briefs.view_aicall"


def _rows(request: HttpRequest, params: UsageParams) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    if params.user_id is not None and params.user_id != user.pk and not access.can(user, SEE_ALL):
        raise ApiError(
            403,
            "forbidden",
            f"Seeing other users' usage needs the {SEE_ALL} permission.",
            field="user_id",
        )
    return selectors.filtered(
        selectors.visible_to(user),
        since=params.since,
        until=params.until,
        model=params.model,
        kind=params.kind,
        job_type=params.job_type,
        user_id=params.user_id,
        brief_id=params.brief_id,
        job_id=params.job_id,
    )


@router.get("", response={200: UsageOut, **COMMON_ERRORS, 403: ErrorOut})
def usage(request: HttpRequest, params: Query[UsageParams]) -> Any:
    """Totals, groups (`group_by`: model, kind, job_type, user, brief, provider, day) and the
    newest rows of the AI calls the caller may see: all for staff, their own for a user."""
    user = request.auth  # type: ignore[attr-defined]
    rows = _rows(request, params)
    caps = [
        {
            "scope": "user" if item["cap"].user_id else "everyone",
            "period": item["cap"].period,
            "amount": item["cap"].amount,
            "spent": item["spent"],
            "reached": item["reached"],
            "resets_at": item["resets_at"],
        }
        for item in budgets.describe(user)["caps"]
    ]
    return {
        "totals": selectors.totals(rows),
        "group_by": params.group_by,
        "groups": selectors.grouped(rows, params.group_by) if params.group_by else [],
        "rows": list(rows.order_by("-created_at", "-id")[: params.limit]),
        "caps": caps,
    }


CSV_FIELDS = [field.attname for field in AICall._meta.concrete_fields if field.name != "id"]


class _Echo:
    def write(self, value: str) -> str:
        return value


@router.get(
    "/export.csv",
    url_name="usage_export",
    response={**COMMON_ERRORS, 403: ErrorOut},
    openapi_extra={
        "responses": {
            200: {
                "description": "The usage rows as CSV (a header line, then one line per row)",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        }
    },
)
def export(request: HttpRequest, params: Query[UsageParams]) -> Any:
    """Staff only: every usage row matching the filters, as CSV (oldest first), for finance.
    Costs are in US dollars with six decimals."""
    user = request.auth  # type: ignore[attr-defined]
    access.require(user, SEE_ALL, "export usage")
    rows = _rows(request, params).order_by("created_at", "id")
    writer = csv.writer(_Echo())
    header = [
        "id",
        *[f"{name}_id" if name in ("job", "user", "brief") else name for name in CSV_FIELDS],
    ]

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows.values_list(*header).iterator(chunk_size=2000):
            yield writer.writerow(_cell(value) for value in row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="ai-usage.csv"'
    return response


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # never a formula in a spreadsheet
    return value
