"""The jobs admin: find any job, see why it failed, and steer it (requeue, run now, cancel,
raise priority, rescue stuck ones). Every action needs its own permission and reports what it
did. Fields the worker manages are read-only, and edits of a queued job never overwrite what a
worker wrote in the meantime."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Max, Min, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from jobs import conf, registry
from jobs.display import (
    admin_change_url,
    duration_text,
    job_badge,
    job_links,
    pretty_json,
    since,
    status_badge,
)
from jobs.exceptions import InsufficientCredits
from jobs.forms import JobAdminForm, parse_id
from jobs.models import CreditAccount, Job, JobAttempt, JobQuerySet, Worker

ACTION_LIMIT = 10_000
PRIORITY_STEP = 10


# --- actions (module-level, each with its permission) ------------------------------------------


def _selected(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Job]):
    """The selected jobs, at most ACTION_LIMIT of them (with a warning when there were more)."""
    jobs = list(queryset.order_by("pk")[: ACTION_LIMIT + 1])
    if len(jobs) > ACTION_LIMIT:
        modeladmin.message_user(
            request,
            f"Only the first {ACTION_LIMIT:,} selected jobs were handled; run the action again "
            "for the rest.",
            messages.WARNING,
        )
    return jobs[:ACTION_LIMIT]


def _report(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    done: int,
    skipped: int,
    did: str,
    why_skipped: str,
) -> None:
    def jobs(n: int) -> str:
        return f"{n} job" if n == 1 else f"{n} jobs"

    if done:
        text = f"{did.capitalize()} {jobs(done)}."
        if skipped:
            text += f" Skipped {jobs(skipped)} {why_skipped}."
        modeladmin.message_user(request, text, messages.SUCCESS)
    else:
        modeladmin.message_user(
            request, f"Nothing {did}: the selected jobs are {why_skipped}.", messages.WARNING
        )


@admin.action(permissions=["requeue"], description="Requeue (failed or cancelled jobs)")
def requeue_jobs(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Job]):
    jobs = _selected(modeladmin, request, queryset)
    done = 0
    refused: list[str] = []
    for job in jobs:
        try:
            done += job.requeue()
        except InsufficientCredits as exc:
            refused.append(f"#{job.pk}: {exc}")
    skipped = len(jobs) - done - len(refused)
    if done or not refused:
        _report(modeladmin, request, done, skipped, "requeued", "not failed or cancelled")
    if refused:
        more = f" (and {len(refused) - 5} more)" if len(refused) > 5 else ""
        modeladmin.message_user(
            request,
            f"Not requeued, their owners lack credits: {'; '.join(refused[:5])}{more}",
            messages.ERROR,
        )


@admin.action(permissions=["run_now"], description="Retry now (scheduled jobs run at once)")
def run_jobs_now(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Job]):
    jobs = _selected(modeladmin, request, queryset)
    done = sum(job.run_now() for job in jobs)
    _report(modeladmin, request, done, len(jobs) - done, "moved to now", "not queued")


@admin.action(permissions=["cancel"], description="Cancel (running jobs stop at their next check)")
def cancel_jobs(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Job]):
    jobs = _selected(modeladmin, request, queryset)
    cancelled = asked = 0
    for job in jobs:
        was_running = job.status == Job.Status.RUNNING
        if job.cancel(reason=f"Cancelled by {request.user}"):
            if job.status == Job.Status.CANCELLED:
                cancelled += 1
            elif was_running or job.cancel_requested:
                asked += 1
    skipped = len(jobs) - cancelled - asked
    parts = []
    if cancelled:
        parts.append(f"Cancelled {cancelled} queued job{'s' if cancelled != 1 else ''}.")
    if asked:
        parts.append(f"Asked {asked} running job{'s' if asked != 1 else ''} to stop.")
    if skipped:
        parts.append(f"Skipped {skipped} already finished.")
    level = messages.SUCCESS if cancelled or asked else messages.WARNING
    modeladmin.message_user(request, " ".join(parts), level)


@admin.action(permissions=["prioritize"], description=f"Raise priority by {PRIORITY_STEP}")
def raise_priority(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Job]):
    jobs = _selected(modeladmin, request, queryset)
    done = sum(job.raise_priority(by=PRIORITY_STEP) for job in jobs)
    _report(modeladmin, request, done, len(jobs) - done, "raised the priority of", "not queued")


@admin.action(permissions=["requeue"], description="Rescue stuck jobs (running past their lease)")
def rescue_stuck(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Job]):
    ids = [job.pk for job in _selected(modeladmin, request, queryset)]
    rescued = Job.objects.filter(pk__in=ids).recover_stuck(limit=len(ids) or 1)
    retried = sum(job.status == Job.Status.QUEUED for job in rescued)
    failed = len(rescued) - retried
    if rescued:
        modeladmin.message_user(
            request,
            f"Rescued {len(rescued)} stuck job{'s' if len(rescued) != 1 else ''}: "
            f"{retried} back in the queue, {failed} failed (no attempts left).",
            messages.SUCCESS,
        )
    else:
        modeladmin.message_user(
            request,
            "Nothing rescued: none of the selected jobs is running past its lease.",
            messages.WARNING,
        )


# --- a job list that stays quick with millions of rows -------------------------------------------


class JobListQuerySet(JobQuerySet):
    """The admin list's queryset. ``date_hierarchy`` asks ``datetimes()`` for every year, month
    or day that has jobs, which Django answers with a DISTINCT over every row (a second per
    million). Here each period between the first and the last job is probed with one indexed
    EXISTS instead: at most 31 probes for a month's days, 12 for a year's months."""

    def datetimes(self, field_name: str, kind: str, order: str = "ASC", tzinfo: Any = None):
        if kind not in ("year", "month", "day"):
            return super().datetimes(field_name, kind, order, tzinfo)  # type: ignore[arg-type]
        bounds = self.aggregate(first=Min(field_name), last=Max(field_name))
        if bounds["first"] is None:
            return []
        tz = tzinfo or timezone.get_current_timezone()
        first, last = (timezone.localtime(bounds[k], tz) for k in ("first", "last"))
        found = []
        start = _period_start(first, kind)
        while start <= last:
            end = _next_period(start, kind)
            span = {f"{field_name}__gte": start, f"{field_name}__lt": end}
            if self.filter(**span).exists():
                found.append(start)
            start = end
        return found if order == "ASC" else found[::-1]


def _period_start(moment: datetime, kind: str) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == "day":
        return day
    if kind == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def _next_period(start: datetime, kind: str) -> datetime:
    if kind == "day":
        naive = start.replace(tzinfo=None) + timedelta(days=1)
    elif kind == "month":
        naive = start.replace(tzinfo=None, day=28) + timedelta(days=4)
        naive = naive.replace(day=1)
    else:
        naive = start.replace(tzinfo=None, year=start.year + 1)
    return timezone.make_aware(naive, start.tzinfo)  # type: ignore[arg-type]


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL an unfiltered list of a big table shows the planner's row estimate instead
    of counting every row (COUNT(*) reads the whole table). Filtered lists count exactly."""

    EXACT_BELOW = 100_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if (
            isinstance(queryset, QuerySet)
            and not queryset.query.where
            and connections[queryset.db].vendor == "postgresql"
        ):
            with connections[queryset.db].cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [queryset.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] >= self.EXACT_BELOW:
                return int(row[0])
        return super().count


# --- filters -----------------------------------------------------------------------------------


class StuckFilter(admin.SimpleListFilter):
    title = "stuck"
    parameter_name = "stuck"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Running past its lease")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Job]) -> QuerySet[Job]:
        if self.value() == "yes":
            return queryset.stuck()  # type: ignore[attr-defined]
        return queryset


class TypeFilter(admin.SimpleListFilter):
    """Registered job types (no DISTINCT over millions of rows)."""

    title = "type"
    parameter_name = "type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in registry.names()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Job]) -> QuerySet[Job]:
        return queryset.filter(type=self.value()) if self.value() else queryset


class QueueFilter(admin.SimpleListFilter):
    """Queues of registered types and of live jobs (a partial index, never the whole table)."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = {t.queue for t in registry.all_types()}
        names |= set(Job.objects.live().order_by().values_list("queue", flat=True).distinct())
        return [(name, name) for name in sorted(names)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Job]) -> QuerySet[Job]:
        return queryset.filter(queue=self.value()) if self.value() else queryset


# --- inlines -----------------------------------------------------------------------------------


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


# --- the job admin -----------------------------------------------------------------------------

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

# The buttons on a job's page: (action slug, label, permission, allowed in these statuses).
OBJECT_ACTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "requeue": ("Requeue", "jobs.requeue_job", (Job.Status.FAILED, Job.Status.CANCELLED)),
    "run-now": ("Run now", "jobs.run_job_now", (Job.Status.QUEUED,)),
    "prioritize": (f"Priority +{PRIORITY_STEP}", "jobs.prioritize_job", (Job.Status.QUEUED,)),
    "cancel": ("Cancel", "jobs.cancel_job", (Job.Status.QUEUED, Job.Status.RUNNING)),
}


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    form = JobAdminForm
    list_display = (
        "id",
        "status_badge",
        "type",
        "queue",
        "priority",
        "brief_link",
        "owner",
        "attempts_text",
        "age",
        "took",
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
    search_fields = ("brief__title", "error")
    search_help_text = "A job id (123 or #123), a brief's title, or words from the error."
    date_hierarchy = "created_at"
    list_select_related = ("brief", "owner")
    list_per_page = 50
    empty_value_display = "—"
    show_full_result_count = False
    ordering = ("-id",)
    actions = (requeue_jobs, run_jobs_now, cancel_jobs, raise_priority, rescue_stuck)
    inlines = (JobAttemptInline,)
    raw_id_fields = ("owner", "brief", "depends_on")
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
        return queryset.filter(Q(brief__title__icontains=term) | Q(error__icontains=term)), False

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
        return _object_action_post(request, modeladmin=self, object_id=object_id, action=action)

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

    @admin.display(description="brief", ordering="brief__title")
    def brief_link(self, job: Job) -> str:
        if job.brief is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            admin_change_url(job.brief),
            Truncator(str(job.brief)).chars(40),
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

    @admin.display(description="worker", ordering="worker_id")
    def worker(self, job: Job) -> str:
        if not job.worker_id:
            return "—"
        return format_html(
            '<span title="{}">{}</span>', job.worker_id, Truncator(job.worker_id).chars(14)
        )

    @admin.display(description="brief, transcript and SOP")
    def related(self, job: Job) -> str:
        links = job_links(job)
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


@require_POST
def _object_action_post(
    request: HttpRequest, *, modeladmin: JobAdmin, object_id: int, action: str
) -> HttpResponse:
    """One button on a job's page: check the permission, act through the model, report."""
    job = get_object_or_404(Job, pk=object_id)
    if action not in OBJECT_ACTIONS:
        raise PermissionDenied(f"Unknown action {action!r}.")
    label, permission, _statuses = OBJECT_ACTIONS[action]
    if not request.user.has_perm(permission):
        raise PermissionDenied(f"You may not {label.lower()} jobs.")
    perform: dict[str, Callable[[], bool]] = {
        "requeue": job.requeue,
        "run-now": job.run_now,
        "prioritize": lambda: job.raise_priority(by=PRIORITY_STEP),
        "cancel": lambda: job.cancel(reason=f"Cancelled by {request.user}"),
    }
    try:
        performed = perform[action]()
    except InsufficientCredits as exc:
        modeladmin.message_user(request, f"Job #{job.pk} was not requeued: {exc}", messages.ERROR)
        return HttpResponseRedirect(reverse("admin:jobs_job_change", args=[job.pk]))
    if performed:
        done = {
            "requeue": "Requeued job #{} with a fresh attempt count.",
            "run-now": "Job #{} will run at once.",
            "prioritize": f"Raised the priority of job #{{}} to {job.priority}.",
            "cancel": "Cancelled job #{}."
            if job.status == Job.Status.CANCELLED
            else "Asked job #{} to stop; it stops at its next check.",
        }[action]
        modeladmin.message_user(request, done.format(job.pk), messages.SUCCESS)
    else:
        modeladmin.message_user(
            request,
            f"Could not {label.lower()} job #{job.pk}: it is {job.get_status_display().lower()}.",
            messages.WARNING,
        )
    return HttpResponseRedirect(reverse("admin:jobs_job_change", args=[job.pk]))


# --- workers -----------------------------------------------------------------------------------


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


# --- credits -----------------------------------------------------------------------------------

LEDGER_ROWS = 50


@admin.register(CreditAccount)
class CreditAccountAdmin(admin.ModelAdmin):
    """Balances, their ledger, and a form to grant credits. The balance itself only changes
    through ``jobs.credits`` (always with a ledger line), never by editing the number."""

    list_display = ("user", "balance", "updated_at")
    search_fields = ("user__username", "user__email")
    list_select_related = ("user",)
    ordering = ("user__username",)
    fields = ("user", "balance", "updated_at", "ledger")
    readonly_fields = fields
    change_form_template = "admin/jobs/creditaccount/change_form.html"

    class Media:
        css = {"all": ["jobs/admin.css"]}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # an account opens with its owner's first paid job

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # read-only here; credits are granted with the form on the page

    def get_urls(self) -> list[Any]:
        urls = [
            path(
                "<int:object_id>/grant/",
                self.admin_site.admin_view(self.grant_view),
                name="jobs_creditaccount_grant",
            )
        ]
        return urls + super().get_urls()

    def grant_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        return _grant_post(request, modeladmin=self, object_id=object_id)

    def render_change_form(self, request: HttpRequest, context: dict, *args: Any, **kwargs: Any):
        context["can_grant"] = request.user.has_perm("jobs.change_creditaccount")
        return super().render_change_form(request, context, *args, **kwargs)

    @admin.display(description=f"ledger (latest {LEDGER_ROWS})")
    def ledger(self, account: CreditAccount) -> str:
        entries = account.entries.select_related("job")[:LEDGER_ROWS]
        if not entries:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td class='num'>{}</td><td class='num'>{}</td>"
            "<td>{}</td><td>{}</td></tr>",
            (
                (
                    since(entry.created_at),
                    entry.get_kind_display(),
                    f"{entry.delta:+d}",
                    entry.balance_after,
                    format_html(
                        '<a href="{}">#{} {}</a>',
                        reverse("admin:jobs_job_change", args=[entry.job_id]),
                        entry.job_id,
                        entry.job_type,
                    )
                    if entry.job_id
                    else entry.job_type or "—",
                    entry.note or "—",
                )
                for entry in entries
            ),
        )
        return format_html(
            '<table class="credit-ledger"><thead><tr><th>When</th><th>What</th>'
            '<th class="num">Change</th><th class="num">Balance</th><th>Job</th><th>Note</th>'
            "</tr></thead><tbody>{}</tbody></table>",
            rows,
        )


@require_POST
def _grant_post(
    request: HttpRequest, *, modeladmin: CreditAccountAdmin, object_id: int
) -> HttpResponse:
    from jobs import credits

    account = get_object_or_404(CreditAccount.objects.select_related("user"), pk=object_id)
    if not request.user.has_perm("jobs.change_creditaccount"):
        raise PermissionDenied("You may not grant credits.")
    back = HttpResponseRedirect(reverse("admin:jobs_creditaccount_change", args=[account.pk]))
    raw = request.POST.get("amount", "").strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 7) or not 0 < int(raw) <= 1_000_000:
        modeladmin.message_user(
            request,
            f"Give a whole number of credits from 1 to 1,000,000, not {raw!r}.",
            messages.ERROR,
        )
        return back
    note = request.POST.get("note", "").strip() or f"Granted by {request.user}"
    balance = credits.grant(account.user, int(raw), note=note)
    modeladmin.message_user(
        request,
        f"Granted {int(raw)} credits to {account.user}; the balance is {balance}.",
        messages.SUCCESS,
    )
    return back
