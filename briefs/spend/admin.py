"""Staff pages for spend: the usage rows (read-only, exported as CSV), the price table and the
budget caps. Saving or deleting a cap lets the jobs it held run again at once."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from briefs.spend import budgets, selectors
from briefs.spend.models import AICall, BudgetCap, Price
from jobs.admin.jobs import JobAdmin
from jobs.models import Job


def money(value: Any) -> str:
    """Dollars for people: $0.0042 below a cent, $12.34 above."""
    if value is None:
        return "$0.00"
    return f"${value:,.4f}" if abs(value) < 1 else f"${value:,.2f}"


@admin.register(AICall)
class AICallAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "model",
        "kind",
        "job_link",
        "job_type",
        "user",
        "brief",
        "tokens",
        "cost_text",
        "provider",
        "retried",
    )
    list_filter = ("kind", "provider", "model", "job_type", "priced", "retried")
    search_fields = ("model", "job_type", "user__username", "request_id")
    date_hierarchy = "created_at"
    list_select_related = ("user", "brief")
    show_full_result_count = False
    change_list_template = "admin/briefs/aicall/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="job")
    def job_link(self, row: AICall) -> str:
        if row.job_id is None:
            return "—"
        url = reverse("admin:jobs_job_change", args=[row.job_id])
        return format_html('<a href="{}">#{}</a>', url, row.job_id)

    @admin.display(description="tokens in / cached / out / reasoning")
    def tokens(self, row: AICall) -> str:
        return (
            f"{row.input_tokens:,} / {row.cached_input_tokens:,} / {row.output_tokens:,} / "
            f"{row.reasoning_tokens:,}"
        )

    @admin.display(description="cost", ordering="cost")
    def cost_text(self, row: AICall) -> str:
        if row.provider == "offline":
            return "$0 (offline)"
        return money(row.cost) + ("" if row.priced else " (no price)")


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    list_display = ("model", "unit", "price", "valid_from", "note")
    list_filter = ("model", "unit")
    search_fields = ("model", "note")
    ordering = ("model", "unit", "-valid_from")
    fieldsets = (
        (
            None,
            {
                "fields": ("model", "unit", "price", "valid_from", "note"),
                "description": (
                    "Prices in US dollars. A call is priced with the rows valid when it was "
                    "made, and keeps that cost: to change a price, add a row with a newer "
                    "'valid from' rather than editing the old one."
                ),
            },
        ),
    )


@admin.register(BudgetCap)
class BudgetCapAdmin(admin.ModelAdmin):
    list_display = ("__str__", "user", "period", "amount", "spent_now", "updated_at")
    list_filter = ("period",)
    search_fields = ("user__username",)
    raw_id_fields = ("user",)
    list_select_related = ("user",)
    fieldsets = (
        (
            None,
            {
                "fields": ("user", "period", "amount"),
                "description": (
                    "When the calls of the period reach the amount, paid AI steps wait (the "
                    "job is held, not failed) and new paid work is refused. Leave the user "
                    "empty for a cap on everyone's calls together. Raising or deleting a cap "
                    "lets the held jobs run at once."
                ),
            },
        ),
    )

    @admin.display(description="spent this period")
    def spent_now(self, cap: BudgetCap) -> str:
        start, _end = budgets.period_bounds(cap.period)
        return money(budgets.spent(since=start, user_id=cap.user_id))

    def save_model(self, request: HttpRequest, obj: BudgetCap, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        self._resume(request, obj)

    def delete_model(self, request: HttpRequest, obj: BudgetCap) -> None:
        super().delete_model(request, obj)
        self._resume(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[BudgetCap]) -> None:
        caps = list(queryset)
        super().delete_queryset(request, queryset)
        for cap in caps:
            self._resume(request, cap)

    def _resume(self, request: HttpRequest, cap: BudgetCap) -> None:
        resumed = budgets.resume_held(cap)
        if resumed:
            self.message_user(
                request,
                f"{resumed} held job(s) run again now (they are held again if a cap still stands).",
                messages.INFO,
            )


def usage_table(usage: dict[str, Any]) -> SafeString | str:
    """A job's or a brief's usage: the total cost, then one line per model."""
    if not usage["calls"]:
        return "No AI calls."
    lines = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                row["key"],
                row["calls"],
                f"{row['input_tokens']:,} ({row['cached_input_tokens']:,} cached)",
                f"{row['output_tokens']:,} ({row['reasoning_tokens']:,} reasoning)",
                money(row["cost"]),
            )
            for row in usage["by_model"]
        ),
    )
    return format_html(
        '<strong data-cost="{}">{}</strong> for {} AI call(s) · '
        '<a href="{}?{}">the calls</a>'
        '<table class="usage-table"><tr><th>model</th><th>calls</th><th>input tokens</th>'
        "<th>output tokens</th><th>cost</th></tr>{}</table>",
        usage["cost"],
        money(usage["cost"]),
        usage["calls"],
        reverse("admin:briefs_aicall_changelist"),
        usage["filter"],
        lines,
    )


class SpendJobAdmin(JobAdmin):
    """The queue's job page, with what the job's AI calls used and cost (from the usage rows:
    the queue itself knows nothing of spend)."""

    @admin.display(description="AI usage and cost")
    def usage_json(self, job: Job) -> SafeString | str:
        return usage_table(selectors.for_job(job.pk) | {"filter": f"job__id__exact={job.pk}"})


admin.site.unregister(Job)
admin.site.register(Job, SpendJobAdmin)
