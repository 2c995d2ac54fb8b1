"""The dashboard's operator pages: a page per queue, job types, schedules, bulk actions, and
the buttons that pause queues, run schedules now and tell workers to go quiet or stop.
Every view is staff-only; every change needs its own permission."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jobs import bulk, insight
from jobs import queues as controls
from jobs import schedules as periodic
from jobs.bulk_forms import ACTION_PERMISSIONS, BulkFilterForm
from jobs.controls import Schedule
from jobs.exceptions import JobError
from jobs.models import Worker
from jobs.views import HtmxHttpRequest, staff_required


def _need(request: HtmxHttpRequest, permission: str, what: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied(f"You may not {what}.")


@require_GET
@staff_required
def queue_page(request: HtmxHttpRequest, name: str) -> HttpResponse:
    try:
        controls.check_name(name)
    except ValueError:
        raise Http404("No such queue") from None
    summary = next((s for s in insight.queue_summaries() if s.name == name), None)
    if summary is None:
        summary = insight.QueueSummary(name=name)
    context = {
        "summary": summary,
        "windows": insight.queue_windows(name),
        "can_pause": request.user.has_perm("jobs.pause_queue"),
        "sample": insight.SAMPLE,
    }
    return render(request, "jobs/queue.html", context)


@require_POST
@staff_required
def queue_control(request: HtmxHttpRequest, name: str, action: str) -> HttpResponse:
    _need(request, "jobs.pause_queue", "pause or resume queues")
    try:
        controls.check_name(name)
    except ValueError:
        raise Http404("No such queue") from None
    if action == "pause":
        reason = request.POST.get("reason", "")[:500]
        controls.queue_pause(name=name, by=request.user.get_username(), reason=reason)
        messages.success(request, f"Paused queue {name}.")
    elif action == "resume":
        controls.queue_resume(name=name)
        messages.success(request, f"Resumed queue {name}.")
    elif action == "release":
        controls.queue_release_hold(name=name)
        messages.success(request, f"Released the hold on queue {name}.")
    else:
        raise Http404("No such action")
    return redirect(request.POST.get("next") or reverse("jobs:queue", args=[name]))


@require_GET
@staff_required
def types_page(request: HtmxHttpRequest) -> HttpResponse:
    window = request.GET.get("window", "24h")
    window = window if window in insight.WINDOWS else "24h"
    sort = request.GET.get("sort", "type")
    sort = sort if sort in insight.TYPE_SORTS else "type"
    context = {
        "stats": insight.type_stats(window=window, sort=sort),
        "window": window,
        "windows": list(insight.WINDOWS),
        "sort": sort,
        "sample": insight.SAMPLE,
    }
    return render(request, "jobs/types.html", context)


@require_GET
@staff_required
def schedules_page(request: HtmxHttpRequest) -> HttpResponse:
    periodic.sync_code_schedules()
    context = {
        "schedules": Schedule.objects.all(),
        "can_run": request.user.has_perm("jobs.run_schedule"),
    }
    return render(request, "jobs/schedules.html", context)


@require_POST
@staff_required
def schedule_run_now(request: HtmxHttpRequest, schedule_id: int) -> HttpResponse:
    _need(request, "jobs.run_schedule", "run periodic jobs now")
    schedule = get_object_or_404(Schedule, pk=schedule_id)
    try:
        job = periodic.run_now(schedule)
    except (JobError, ValueError) as exc:  # a refused enqueue, a payload the type refuses
        messages.warning(request, f"{schedule.name} was not run: {exc}")
    else:
        messages.success(
            request, f"Enqueued job #{job.pk} for {schedule.name}." if job else "Already enqueued."
        )
    return redirect(request.POST.get("next") or reverse("jobs:schedules"))


@require_POST
@staff_required
def worker_command(request: HtmxHttpRequest, worker_id: str, command: str) -> HttpResponse:
    """Tell a worker to go quiet, stop, or take jobs again; it obeys at its next heartbeat."""
    _need(request, "jobs.control_worker", "control workers")
    if command not in ("quiet", "stop", "resume"):
        raise Http404("No such command")
    value = "" if command == "resume" else command
    if not Worker.objects.filter(pk=worker_id).update(command=value):
        raise Http404("No such worker")
    messages.success(request, f"Told worker {worker_id} to {command} (at its next heartbeat).")
    return redirect(request.POST.get("next") or reverse("jobs:dashboard"))


def bulk_response(
    request: HtmxHttpRequest, *, template: str, here: str, context: dict[str, Any]
) -> HttpResponse:
    """The bulk page, in the dashboard or in the admin: the filter, what each action would
    touch, and (POST) the action itself."""
    query = request.POST if request.method == "POST" else request.GET
    form = BulkFilterForm.from_query(query)
    counts: dict[str, int] | None = None
    if form.is_valid():
        job_filter = form.job_filter()
        if request.method == "POST":
            action = request.POST.get("action", "")
            if action not in ACTION_PERMISSIONS:
                raise Http404("No such action")
            _need(request, ACTION_PERMISSIONS[action], f"{action} jobs in bulk")
            _count, message = bulk.run(request.user, action=action, f=job_filter)
            messages.success(request, message)
            kept = {k: v for k, v in form.cleaned_data.items() if v not in ("", None)}
            return redirect(f"{here}?{urlencode({k: str(v) for k, v in kept.items()})}")
        counts = bulk.counts(job_filter)
    allowed = {a: request.user.has_perm(p) for a, p in ACTION_PERMISSIONS.items()}
    return render(
        request,
        template,
        {**context, "form": form, "counts": counts, "allowed": allowed, "here": here},
    )


@require_http_methods(["GET", "POST"])
@staff_required
def bulk_page(request: HtmxHttpRequest) -> HttpResponse:
    return bulk_response(request, template="jobs/bulk.html", here=reverse("jobs:bulk"), context={})
