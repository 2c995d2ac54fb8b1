"""The queue records in the admin: pause, resume, release a hold, set limits. Changes go through
``jobs/queues.py`` so every worker hears of them at once (NOTIFY on PostgreSQL)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from jobs import queues as controls
from jobs.controls import Queue


@admin.action(permissions=["pause"], description="Pause (workers take none of their jobs)")
def pause_queues(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Queue]):
    names = list(queryset.values_list("name", flat=True))
    for name in names:
        controls.queue_pause(
            name=name, by=request.user.get_username(), reason="Paused in the admin"
        )
    modeladmin.message_user(request, f"Paused {', '.join(names)}.", messages.SUCCESS)


@admin.action(permissions=["pause"], description="Resume")
def resume_queues(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Queue]):
    names = list(queryset.values_list("name", flat=True))
    for name in names:
        controls.queue_resume(name=name)
    modeladmin.message_user(request, f"Resumed {', '.join(names)}.", messages.SUCCESS)


@admin.action(permissions=["pause"], description="Release hold (AI backpressure)")
def release_holds(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Queue]):
    names = list(queryset.values_list("name", flat=True))
    for name in names:
        controls.queue_release_hold(name=name)
    modeladmin.message_user(request, f"Released {', '.join(names)}.", messages.SUCCESS)


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ["name", "state", "concurrency_limit", "rate", "insight_link"]
    search_fields = ["name"]
    actions = [pause_queues, resume_queues, release_holds]
    fieldsets = [
        (None, {"fields": ["name"]}),
        ("Pause", {"fields": ["paused", "pause_reason", "paused_by", "paused_at"]}),
        ("Limits", {"fields": ["concurrency_limit", "rate_limit", "rate_period"]}),
        ("Hold (AI backpressure)", {"fields": ["held_until", "hold_reason"]}),
    ]
    readonly_fields = ["paused_by", "paused_at", "held_until", "hold_reason"]

    def get_urls(self) -> list:
        from jobs.admin.bulk import bulk_admin_view

        bulk = path("bulk/", self.admin_site.admin_view(bulk_admin_view), name="jobs_queue_bulk")
        return [bulk, *super().get_urls()]

    def has_pause_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("jobs.pause_queue")

    def has_limit_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("jobs.limit_queue")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_pause_permission(request) or self.has_limit_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.has_change_permission(request)

    def delete_model(self, request: HttpRequest, obj: Queue) -> None:
        """Deleting a record resumes the queue and clears its limits (made again on use)."""
        super().delete_model(request, obj)
        controls.notify(obj.name)

    def get_readonly_fields(self, request: HttpRequest, obj: Queue | None = None) -> Any:
        fields = list(self.readonly_fields)
        if obj is not None:
            fields.append("name")
        if not self.has_pause_permission(request):
            fields += ["paused", "pause_reason"]
        if not self.has_limit_permission(request):
            fields += ["concurrency_limit", "rate_limit", "rate_period"]
        return fields

    def save_model(self, request: HttpRequest, obj: Queue, form: Any, change: bool) -> None:
        """Through the services, so workers hear of it at once and the pause says who."""
        controls.queue_record(obj.name)
        data = form.cleaned_data
        if self.has_limit_permission(request):
            controls.queue_set_limits(
                name=obj.name,
                concurrency=data.get("concurrency_limit"),
                rate=data.get("rate_limit"),
                period=data.get("rate_period"),
            )
        if self.has_pause_permission(request):
            if data.get("paused") and ("paused" in form.changed_data or not change):
                controls.queue_pause(
                    name=obj.name,
                    by=request.user.get_username(),
                    reason=data.get("pause_reason", ""),
                )
            elif not data.get("paused") and "paused" in form.changed_data:
                controls.queue_resume(name=obj.name)
        obj.refresh_from_db()

    @admin.display(description="State")
    def state(self, queue: Queue) -> str:
        parts = []
        if queue.paused:
            parts.append(
                format_html(
                    '<span class="badge badge--failed">paused</span> by {} {} — {}',
                    queue.paused_by or "?",
                    f"{queue.paused_at:%Y-%m-%d %H:%M}" if queue.paused_at else "",
                    queue.pause_reason or "no reason given",
                )
            )
        if queue.held(timezone.now()):
            parts.append(
                format_html(
                    '<span class="badge badge--queued">held until {}</span> {}',
                    f"{timezone.localtime(queue.held_until):%H:%M:%S}",
                    queue.hold_reason,
                )
            )
        return format_html("<br>".join(["{}"] * len(parts)), *parts) if parts else "running"

    @admin.display(description="Rate")
    def rate(self, queue: Queue) -> str:
        return queue.rate_text or "—"

    @admin.display(description="Insight")
    def insight_link(self, queue: Queue) -> str:
        return format_html('<a href="{}">figures</a>', reverse("jobs:queue", args=[queue.name]))
