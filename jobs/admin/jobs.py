"""The job admin: find any job, see why it failed, and steer it (requeue, run now, cancel,
raise priority, rescue stuck ones). Fields the worker manages are read-only, and edits of a
queued job never overwrite what a worker wrote in the meantime."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from jobs import display
from jobs.admin.actions import (
    OBJECT_ACTIONS,
    cancel_jobs,
    object_action_post,
    raise_priority,
    requeue_jobs,
    rescue_stuck,
    run_jobs_now,
)
from jobs.admin.filters import QueueFilter, StuckFilter, TypeFilter
from jobs.admin.lists import EstimatedCountPaginator, JobChangeList, JobListQuerySet
from jobs.display import (
    admin_change_url,
    duration_text,
    job_badge,
    pretty_json,
    since,
    status_badge,
)
from jobs.forms import JobAdminForm, parse_id
from jobs.models import Job, JobAttempt


class JobAttemptInline(admin.TabularInline):
    model = JobAttempt
    extra = 0
    can_delete = False
    fields = ("number", "outcome_badge", "worker_id", "started_at", "finished_at", "took", "error")
    readonly_fields = fields
    ordering = ("number", "started_at")
    verbose_name = "attempt"
    verbose_name_plural = "attempt history"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="outcome")
    def outcome_badge(self, attempt: JobAttempt) -> str:
        return status_badge(attempt.outcome, attempt.get_outcome_display())

    @admin.display(description="took")
    def took(self, attempt: JobAttempt) -> str:
        return duration_text(attempt.duration)


WORKER_FIELDS = (
    "status",
    "result",
    "error",
    "traceback",
    "usage",
    "attempts",
    "started_at",
    "finished_at",
    "worker_id",
    "lease_expires_at",
    "cancel_requested",
    "progress",
    "current_step",
)
EDITABLE_WHEN_QUEUED = ("queue", "priority", "run_at", "max_attempts", "timeout")
POSTED_EDITS = {"queue", "priority", "run_at_0", "run_at_1", "max_attempts", "timeout"}


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    form = JobAdminForm
    list_display = (
        "id",
        "status_badge",
        "type",
        "queue",
        "priority",
        "works_on",
        "owner",
        "attempts_text",
        "age",
        "took",
        "error_short",
        "worker",
    )
    list_display_links = ("id", "status_badge")
    list_filter = (
        "status",
        StuckFilter,
        TypeFilter,
        QueueFilter,
        ("created_at", admin.DateFieldListFilter),
        ("finished_at", admin.DateFieldListFilter),
        ("run_at", admin.DateFieldListFilter),
    )
    search_fields = ("error",)  # and ids, and what link providers match: get_search_results
    search_help_text = "A job id (123 or #123), words from the error, or what the job works on."
    date_hierarchy = "created_at"
    list_select_related = ("owner",)
    list_per_page = 50
    empty_value_display = "—"
    show_full_result_count = False
    ordering = ("-id",)
    actions = (requeue_jobs, run_jobs_now, cancel_jobs, raise_priority, rescue_stuck)
    inlines = (JobAttemptInline,)
    raw_id_fields = ("owner", "depends_on")
    change_form_template = "admin/jobs/job/change_form.html"

    class Media:
        css = {"all": ["jobs/admin.css"]}

    fieldsets = (
        (
            None,
            {
                "fields": (
                    "status_badge",
                    "type",
                    "queue",
                    "priority",
                    "related",
                    "owner_text",
                    "depends_on_link",
                    "unique_key",
                )
            },
        ),
        (
            "Timing",
            {
                "fields": (
                    "created_at",
                    "run_at",
                    "started_at",
                    "finished_at",
                    "took",
                    "timeout",
                    "attempts",
                    "max_attempts",
                    "worker_id",
                    "lease_expires_at",
                )
            },
        ),
        ("Progress", {"fields": ("progress_bar", "current_step", "cancel_requested")}),
        ("Data", {"fields": ("payload_json", "result_json", "usage_json")}),
        ("Error", {"fields": ("error_text", "traceback_text")}),
    )

    change_list_template = "admin/jobs/job/change_list.html"

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        """The list, with a banner when jobs are stuck (running past their lease)."""
        stuck = Job.objects.stuck().count()
        context = {"stuck_count": stuck, "showing_stuck": request.GET.get("stuck") == "yes"}
        return super().changelist_view(request, extra_context={**context, **(extra_context or {})})

    paginator = EstimatedCountPaginator

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[JobChangeList]:
        return JobChangeList

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        queryset = super().get_queryset(request)
        return JobListQuerySet(model=queryset.model, query=queryset.query, using=queryset.db)

    # --- permissions -------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs are enqueued by code (validated payloads), not typed in here

    def has_requeue_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("jobs.requeue_job")

    def has_run_now_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("jobs.run_job_now")

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("jobs.cancel_job")

    def has_prioritize_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("jobs.prioritize_job")

    # --- the form ----------------------------------------------------------------------

    def get_readonly_fields(self, request: HttpRequest, obj: Job | None = None) -> Any:
        computed = (
            "status_badge",
            "related",
            "owner_text",
            "depends_on_link",
            "took",
            "progress_bar",
            "payload_json",
            "result_json",
            "usage_json",
            "error_text",
            "traceback_text",
            "created_at",
            "type",
            "unique_key",
        )
        fixed = (*computed, *WORKER_FIELDS)
        if obj is None or obj.status != Job.Status.QUEUED:
            return (*fixed, *EDITABLE_WHEN_QUEUED)
        return fixed

    def save_model(self, request: HttpRequest, obj: Job, form: Any, change: bool) -> None:
        """Write only the edited fields, and only while the job is still queued: a worker that
        claimed it meanwhile keeps what it wrote."""
        if change and obj.status != Job.Status.QUEUED:
            if POSTED_EDITS & request.POST.keys():  # edited on a page loaded while queued
                self._left_queue(request)
            return
        changed = [name for name in form.changed_data if name in EDITABLE_WHEN_QUEUED]
        if not change or not changed:
            return
        values = {name: getattr(obj, name) for name in changed}
        if not Job.objects.filter(pk=obj.pk, status=Job.Status.QUEUED).update(**values):
            self._left_queue(request)

    def _left_queue(self, request: HttpRequest) -> None:
        self.message_user(
            request,
            "The job left the queue before your change was saved; nothing was changed.",
            messages.WARNING,
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Job], search_term: str
    ) -> tuple[QuerySet[Job], bool]:
        term = search_term.strip().lstrip("#")
        if (job_id := parse_id(term)) is not None:
            return queryset.filter(pk=job_id), False
        if term.isascii() and term.isdigit():
            return queryset.none(), False  # a number no job can have
        if not term:
            return queryset, False
        matches = Q(error__icontains=term)
        if (provided := display.search_filter(term)) is not None:
            matches |= provided
        return queryset.filter(matches), False

    # --- the buttons on a job's page ---------------------------------------------------

    def get_urls(self) -> list[Any]:
        urls = [
            path(
                "<int:object_id>/do/<slug:action>/",
                self.admin_site.admin_view(self.object_action_view),
                name="jobs_job_object_action",
            )
        ]
        return urls + super().get_urls()

    def object_action_view(self, request: HttpRequest, object_id: int, action: str):
        return object_action_post(request, modeladmin=self, object_id=object_id, action=action)

    def allowed_object_actions(self, request: HttpRequest, job: Job) -> list[tuple[str, str]]:
        return [
            (slug, label)
            for slug, (label, permission, statuses) in OBJECT_ACTIONS.items()
            if job.status in statuses and request.user.has_perm(permission)
        ]

    def render_change_form(self, request: HttpRequest, context: dict, *args: Any, **kwargs: Any):
        job = context.get("original")
        if job is not None:
            context["job_object_actions"] = self.allowed_object_actions(request, job)
            if job.status != Job.Status.QUEUED:  # nothing to edit: no save buttons
                context.update(show_save=False, show_save_and_continue=False)
        return super().render_change_form(request, context, *args, **kwargs)

    # --- columns and read-only fields --------------------------------------------------

    @admin.display(description="status", ordering="status")
    def status_badge(self, job: Job) -> str:
        return job_badge(job)

    @admin.display(description="works on")
    def works_on(self, job: Job) -> str:
        links = display.job_links(job)  # fetched for the whole page by JobChangeList
        if not links:
            return "—"
        return format_html_join(
            " · ",
            '<a href="{}">{}</a>',
            ((url, Truncator(label).chars(40)) for url, label in links),
        )

    @admin.display(description="attempts")
    def attempts_text(self, job: Job) -> str:
        return f"{job.attempts}/{job.max_attempts}"

    @admin.display(description="age", ordering="created_at")
    def age(self, job: Job) -> str:
        return since(job.created_at)

    @admin.display(description="duration")
    def took(self, job: Job) -> str:
        if job.started_at and job.status == Job.Status.RUNNING:
            return duration_text(timezone.now() - job.started_at) + " so far"
        return duration_text(job.duration)

    @admin.display(description="error")
    def error_short(self, job: Job) -> str:
        """The error's first line, cut short; the whole of it on hover and on the job's page."""
        if not job.error:
            return "—"
        first = job.error.strip().splitlines()[0] if job.error.strip() else job.error
        return format_html(
            '<span title="{}">{}</span>', job.error[:2000], Truncator(first).chars(80)
        )

    @admin.display(description="worker", ordering="worker_id")
    def worker(self, job: Job) -> str:
        if not job.worker_id:
            return "—"
        return format_html(
            '<span title="{}">{}</span>', job.worker_id, Truncator(job.worker_id).chars(14)
        )

    @admin.display(description="works on")
    def related(self, job: Job) -> str:
        links = display.job_links(job)
        if not links:
            return "—"
        return format_html_join(" · ", '<a href="{}">{}</a>', links)

    @admin.display(description="owner")
    def owner_text(self, job: Job) -> str:
        if job.owner is None:
            return "—"
        return format_html('<a href="{}">{}</a>', admin_change_url(job.owner), job.owner)

    @admin.display(description="depends on")
    def depends_on_link(self, job: Job) -> str:
        if job.depends_on_id is None:
            return "—"
        return format_html(
            '<a href="{}">#{}</a>',
            reverse("admin:jobs_job_change", args=[job.depends_on_id]),
            job.depends_on_id,
        )

    @admin.display(description="progress")
    def progress_bar(self, job: Job) -> str:
        return format_html(
            '<progress max="100" value="{}">{}%</progress> {}%',
            job.progress,
            job.progress,
            job.progress,
        )

    @admin.display(description="payload")
    def payload_json(self, job: Job) -> str:
        return pretty_json(job.payload)

    @admin.display(description="result")
    def result_json(self, job: Job) -> str:
        return pretty_json(job.result) if job.result is not None else "—"

    @admin.display(description="usage")
    def usage_json(self, job: Job) -> str:
        return pretty_json(job.usage) if job.usage else "—"

    @admin.display(description="error")
    def error_text(self, job: Job) -> str:
        return format_html('<pre class="job-error">{}</pre>', job.error) if job.error else "—"

    @admin.display(description="traceback")
    def traceback_text(self, job: Job) -> str:
        if not job.traceback:
            return "—"
        return format_html('<pre class="job-traceback">{}</pre>', job.traceback)
