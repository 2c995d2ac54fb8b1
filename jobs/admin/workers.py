"""The worker records: who is alive, what each runs now. A worker writes its own row; staff
may look, or delete the row of a worker that is gone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join

from jobs import conf
from jobs.display import since, status_badge
from jobs.models import Job, Worker


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "alive_badge",
        "heartbeat",
        "hostname",
        "pid",
        "queue_names",
        "load",
        "running_jobs",
        "jobs_succeeded",
        "jobs_failed",
        "started_at",
    )
    list_filter = ("status", "hostname")
    search_fields = ("id", "hostname")
    ordering = ("-last_heartbeat",)
    readonly_fields = (
        "id",
        "alive_badge",
        "heartbeat",
        "hostname",
        "pid",
        "queue_names",
        "concurrency",
        "status",
        "started_at",
        "last_heartbeat",
        "load",
        "running_jobs",
        "jobs_succeeded",
        "jobs_failed",
    )
    fields = readonly_fields

    class Media:
        css = {"all": ["jobs/admin.css"]}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a worker writes its own row; staff may view it, or delete a dead one

    @admin.display(description="alive")
    def alive_badge(self, worker: Worker) -> str:
        stale_after = timedelta(seconds=conf.worker_stale_seconds())
        if timezone.now() - worker.last_heartbeat < stale_after:
            if worker.status == Worker.Status.STOPPING:
                return status_badge("stopping", "Stopping")
            return status_badge("alive", "Alive")
        return status_badge("dead", "Gone")

    @admin.display(description="last heartbeat", ordering="last_heartbeat")
    def heartbeat(self, worker: Worker) -> str:
        return since(worker.last_heartbeat)

    @admin.display(description="queues")
    def queue_names(self, worker: Worker) -> str:
        return ", ".join(worker.queues) if worker.queues else "all"

    @admin.display(description="load")
    def load(self, worker: Worker) -> str:
        return f"{worker.jobs_running}/{worker.concurrency}"

    @admin.display(description="running now")
    def running_jobs(self, worker: Worker) -> str:
        jobs = Job.objects.filter(worker_id=worker.pk, status=Job.Status.RUNNING).only(
            "id", "type", "progress"
        )[:20]
        if not jobs:
            return "—"
        return format_html_join(
            ", ",
            '<a href="{}">#{} {}</a> ({}%)',
            (
                (reverse("admin:jobs_job_change", args=[job.pk]), job.pk, job.type, job.progress)
                for job in jobs
            ),
        )
