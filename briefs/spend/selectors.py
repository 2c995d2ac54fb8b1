"""Read-only queries over the usage rows: a job's or a brief's usage, the spend panel, the API
and the CSV export. Every sum is computed from the rows (nothing is cached on jobs or briefs)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from briefs.spend.budgets import period_bounds
from briefs.spend.models import AICall, BudgetCap

MICRO = Decimal("0.000001")
SUMS = {
    "calls": Count("id"),
    "cost": Sum("cost"),
    "input_tokens": Sum("input_tokens"),
    "cached_input_tokens": Sum("cached_input_tokens"),
    "output_tokens": Sum("output_tokens"),
    "reasoning_tokens": Sum("reasoning_tokens"),
    "audio_seconds": Sum("audio_seconds"),
    "images": Sum("images"),
    "video_seconds": Sum("video_seconds"),
    "characters": Sum("characters"),
}
#: What the API and the panel may group by (a name → the row field).
GROUPS = {
    "model": "model",
    "kind": "kind",
    "job_type": "job_type",
    "user": "user__username",
    "brief": "brief_id",
    "provider": "provider",
    "day": "day",
}


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if key in SUMS and value is None:
            value = Decimal(0) if key in ("cost", "audio_seconds", "video_seconds") else 0
        if key == "cost":  # the same digits from every database
            value = Decimal(value).quantize(MICRO)
        out[key] = value
    return out


def totals(rows: QuerySet[AICall]) -> dict[str, Any]:
    """The sums of ``rows`` (cost in dollars, tokens, seconds, calls)."""
    return _clean(rows.order_by().aggregate(**SUMS))


def grouped(rows: QuerySet[AICall], by: str, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Sums of ``rows`` per ``by`` (one of :data:`GROUPS`), costliest first."""
    field = GROUPS[by]
    if by == "day":
        rows = rows.annotate(day=TruncDay("created_at"))
    result = (
        rows.order_by().values(field).annotate(**SUMS).order_by(F("cost").desc(nulls_last=True))
    )
    if limit is not None:
        result = result[:limit]
    return [_clean({"key": row.pop(field), **row}) for row in result]


def for_job(job_id: int) -> dict[str, Any]:
    rows = AICall.objects.filter(job_id=job_id)
    return totals(rows) | {"by_model": grouped(rows, "model")}


def for_brief(brief_id: int) -> dict[str, Any]:
    rows = AICall.objects.filter(brief_id=brief_id)
    return totals(rows) | {"by_model": grouped(rows, "model")}


EMPTY: dict[str, Any] = _clean(dict.fromkeys(SUMS)) | {"calls": 0}


def usage_by_job(job_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The usage totals of each of these jobs, in one query (for lists)."""
    rows = AICall.objects.filter(job_id__in=job_ids).order_by().values("job_id").annotate(**SUMS)
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        values: dict[str, Any] = dict(row)
        out[int(values.pop("job_id"))] = _clean(values)
    return out


def cost_by_job(job_ids: list[int]) -> dict[int, Decimal]:
    """The cost of each of these jobs (for lists)."""
    rows = (
        AICall.objects.filter(job_id__in=job_ids)
        .order_by()
        .values("job_id")
        .annotate(cost=Sum("cost"))
    )
    return {row["job_id"]: row["cost"] or Decimal(0) for row in rows}


def visible_to(user: Any) -> QuerySet[AICall]:
    """Every row for users with ``briefs.view_aicall``; anyone else only their own."""
    rows = AICall.objects.all()
    # Everyone's rows with the permission the admin's list needs (staff alone grants nothing).
    return rows if user.has_perm("briefs.view_aicall") else rows.filter(user=user)


def filtered(
    rows: QuerySet[AICall],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    model: str | None = None,
    kind: str | None = None,
    job_type: str | None = None,
    user_id: int | None = None,
    brief_id: int | None = None,
    job_id: int | None = None,
) -> QuerySet[AICall]:
    conditions = Q()
    if since is not None:
        conditions &= Q(created_at__gte=since)
    if until is not None:
        conditions &= Q(created_at__lt=until)
    for name, value in (
        ("model", model),
        ("kind", kind),
        ("job_type", job_type),
        ("user_id", user_id),
        ("brief_id", brief_id),
        ("job_id", job_id),
    ):
        if value is not None:
            conditions &= Q(**{name: value})
    return rows.filter(conditions)


def panel(*, now: datetime | None = None) -> dict[str, Any]:
    """Everything the dashboard's spend panel shows."""
    now = now or timezone.now()
    day_start, _ = period_bounds(BudgetCap.Period.DAY, now)
    month_start, _ = period_bounds(BudgetCap.Period.MONTH, now)
    month = AICall.objects.filter(created_at__gte=month_start)
    caps = []
    for cap in BudgetCap.objects.select_related("user").order_by("user_id", "period")[:20]:
        start, _end = period_bounds(cap.period, now)
        rows = AICall.objects.filter(created_at__gte=start)
        if cap.user_id is not None:
            rows = rows.filter(user_id=cap.user_id)
        spent = totals(rows)["cost"]
        share = float(spent / cap.amount) if cap.amount else 1.0
        caps.append({"cap": cap, "spent": spent, "share": min(share, 1.0), "reached": share >= 1})
    return {
        "today": totals(AICall.objects.filter(created_at__gte=day_start)),
        "month": totals(month),
        "by_model": grouped(month, "model", limit=8),
        "by_job_type": grouped(month, "job_type", limit=8),
        "by_user": grouped(month, "user", limit=8),
        "by_brief": grouped(month.exclude(brief=None), "brief", limit=8),
        "caps": caps,
        "unpriced": month.filter(priced=False).count(),
    }


def series(*, hours: int | None = None, days: int | None = None) -> list[tuple[datetime, Decimal]]:
    """Cost per hour over the last ``hours``, or per day over the last ``days`` (every bucket,
    empty ones at $0), oldest first."""
    now = timezone.now()
    trunc: type[TruncHour] | type[TruncDay]
    if hours is not None:
        step, trunc, count = timedelta(hours=1), TruncHour, hours
        end = now.replace(minute=0, second=0, microsecond=0)
    else:
        step, trunc, count = timedelta(days=1), TruncDay, days or 30
        end = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - step * (count - 1)
    rows = (
        AICall.objects.filter(created_at__gte=start)
        .annotate(bucket=trunc("created_at"))
        .order_by()
        .values("bucket")
        .annotate(cost=Sum("cost"))
    )
    found = {timezone.localtime(row["bucket"]): row["cost"] or Decimal(0) for row in rows}
    buckets = [timezone.localtime(start + step * i) for i in range(count)]
    return [(bucket, found.get(bucket, Decimal(0))) for bucket in buckets]
