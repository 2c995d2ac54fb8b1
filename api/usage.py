"""``/api/usage``: what AI calls used and cost. Staff see everyone's, with filters and
grouping, and export the rows as CSV; a user sees their own."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Field, Query, Router, Schema

from api import access
from api.errors import COMMON_ERRORS, ApiError, ErrorOut
from api.schemas import Id
from briefs.spend import budgets, selectors
from briefs.spend.models import AICall, Kind

router = Router(tags=["usage"])

MAX_ROWS = 500


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


class UsageParams(Schema):
    since: datetime | None = Field(None, description="Rows from this time (inclusive)")
    until: datetime | None = Field(None, description="Rows before this time")
    model: str | None = Field(None, max_length=100)
    kind: Literal[tuple(Kind.values)] | None = None  # type: ignore[valid-type]
    job_type: str | None = Field(None, max_length=100)
    user_id: Id | None = Field(None, description="Staff only: one user's rows")
    brief_id: Id | None = None
    job_id: Id | None = None
    group_by: Literal[tuple(selectors.GROUPS)] | None = None  # type: ignore[valid-type]
    limit: int = Field(50, ge=0, le=MAX_ROWS)


def _rows(request: HttpRequest, params: UsageParams) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    if params.user_id is not None and params.user_id != user.pk and not access.is_staff(user):
        raise ApiError(403, "forbidden", "Only staff may see other users' usage.", field="user_id")
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
    response={200: str, **COMMON_ERRORS, 403: ErrorOut},
)
def export(request: HttpRequest, params: Query[UsageParams]) -> Any:
    """Staff only: every usage row matching the filters, as CSV (oldest first), for finance.
    Costs are in US dollars with six decimals."""
    user = request.auth  # type: ignore[attr-defined]
    access.require_staff(user, "export usage")
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
