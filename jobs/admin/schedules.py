"""Periodic jobs in the admin: the schedules declared in code and those staff make, on one
list with their last and next run. A bad cron expression or time zone is refused on save."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from jobs import schedules as periodic
from jobs.controls import Schedule
from jobs.exceptions import JobError


@admin.action(permissions=["run"], description="Run now (one job at once; ticks unchanged)")
def run_now(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Schedule]):
    made = []
    for schedule in queryset:
        try:
            job = periodic.run_now(schedule)
        except (JobError, ValueError) as exc:  # a refused enqueue, a payload the type refuses
            modeladmin.message_user(request, f"{schedule}: not run: {exc}", messages.WARNING)
            continue
        if job:
            made.append(f"#{job.pk} ({schedule.name})")
    if made:
        modeladmin.message_user(request, f"Enqueued {', '.join(made)}.", messages.SUCCESS)


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "source",
        "job_type",
        "cron",
        "timezone",
        "enabled",
        "missed",
        "last_run",
        "next_run",
    ]
    list_filter = ["source", "enabled"]
    search_fields = ["name", "job_type"]
    actions = [run_now]
    fields = ["name", "job_type", "payload", "queue", "cron", "timezone", "enabled", "missed"]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        periodic.sync_code_schedules()  # schedules declared in code show up at once
        return super().changelist_view(request, extra_context)

    def has_run_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("jobs.run_schedule")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.source == Schedule.Source.CODE:
            return False  # it comes back from the code; turn it off instead
        return super().has_delete_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Schedule | None = None) -> Any:
        if obj is not None and obj.source == Schedule.Source.CODE:
            return ["name", "job_type", "payload", "queue", "cron", "timezone"]
        return []

    def save_model(self, request: HttpRequest, obj: Schedule, form: Any, change: bool) -> None:
        if {"cron", "timezone", "enabled"} & set(form.changed_data):
            obj.next_run_at = None  # the next tick from now, by the new expression
        if not change:
            obj.source = Schedule.Source.ADMIN
        super().save_model(request, obj, form, change)

    @admin.display(description="Last run")
    def last_run(self, schedule: Schedule) -> str:
        if not schedule.last_run_at:
            return "never"
        when = f"{timezone.localtime(schedule.last_run_at):%Y-%m-%d %H:%M}"
        if schedule.last_job_id:
            url = reverse("admin:jobs_job_change", args=[schedule.last_job_id])
            return format_html('{} (<a href="{}">#{}</a>)', when, url, schedule.last_job_id)
        return when

    @admin.display(description="Next run", ordering="next_run_at")
    def next_run(self, schedule: Schedule) -> str:
        if not schedule.enabled or not schedule.next_run_at:
            return "off"
        zone = timezone.get_current_timezone_name()
        return f"{timezone.localtime(schedule.next_run_at):%Y-%m-%d %H:%M} {zone}"
