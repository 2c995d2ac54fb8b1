"""What staff do to jobs: the list's bulk actions (module-level, each with its permission) and
the buttons on a job's page. Every change goes through the model's own transitions and reports
what it did."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_POST

# A requeue that a receiver refuses (e.g. not enough credits). At the hooks merge: EnqueueRefused.
from jobs.exceptions import EnqueueRefused
from jobs.models import Job

ACTION_LIMIT = 10_000
PRIORITY_STEP = 10


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
        except EnqueueRefused as exc:
            refused.append(f"#{job.pk}: {exc}")
    skipped = len(jobs) - done - len(refused)
    if done or not refused:
        _report(modeladmin, request, done, skipped, "requeued", "not failed or cancelled")
    if refused:
        more = f" (and {len(refused) - 5} more)" if len(refused) > 5 else ""
        modeladmin.message_user(
            request,
            f"Not requeued: {'; '.join(refused[:5])}{more}",
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


# The buttons on a job's page: (action slug, label, permission, allowed in these statuses).
OBJECT_ACTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "requeue": ("Requeue", "jobs.requeue_job", (Job.Status.FAILED, Job.Status.CANCELLED)),
    "run-now": ("Run now", "jobs.run_job_now", (Job.Status.QUEUED,)),
    "prioritize": (f"Priority +{PRIORITY_STEP}", "jobs.prioritize_job", (Job.Status.QUEUED,)),
    "cancel": ("Cancel", "jobs.cancel_job", (Job.Status.QUEUED, Job.Status.RUNNING)),
}


@require_POST
def object_action_post(
    request: HttpRequest, *, modeladmin: admin.ModelAdmin, object_id: int, action: str
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
    except EnqueueRefused as exc:
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
