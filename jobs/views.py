"""The live ``/test-worker`` dashboard: one page of htmx sections that refresh themselves.

Every view is staff-only. GET views render a section (an htmx request gets only its partial);
POST views change a job through its model methods, need the matching permission, and answer
with the changed row or panel so the page updates in place.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import (
    HttpResponseClientRedirect,
    HttpResponseStopPolling,
    trigger_client_event,
)
from django_htmx.middleware import HtmxDetails

from jobs import selectors
from jobs.charts import throughput_chart
from jobs.exceptions import EnqueueRefused, JobError
from jobs.forms import EnqueueForm
from jobs.models import Job
from jobs.services import enqueue, enqueue_many

View = Callable[..., HttpResponse]
DETAIL_TARGET = "job-detail"


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware (for the type checker)."""

    htmx: HtmxDetails


def staff_required(view: View) -> View:
    """Anonymous users go to the admin login (htmx polls too); other non-staff get a 403."""

    @wraps(view)
    def wrapped(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            next_url = reverse("jobs:dashboard") if request.htmx else request.get_full_path()
            login = f"{reverse('admin:login')}?{urlencode({'next': next_url})}"
            if request.htmx:
                return HttpResponseClientRedirect(login)
            return redirect(login)
        if not (user.is_active and user.is_staff):
            raise PermissionDenied("The job dashboard is for staff.")
        return view(request, *args, **kwargs)

    return wrapped


# --- the page and its sections ------------------------------------------------------------------


def _overview_context() -> dict[str, Any]:
    return {
        "counts": selectors.dashboard_counts(),
        "waiting": selectors.waiting(),
        "stuck": selectors.stuck_count(),
    }


def _chart_context() -> dict[str, Any]:
    data = selectors.throughput()
    return {"throughput": data, "chart": throughput_chart(data)}


def _permissions(request: HtmxHttpRequest) -> dict[str, bool]:
    user = request.user
    return {
        "can_requeue": user.has_perm("jobs.requeue_job"),
        "can_cancel": user.has_perm("jobs.cancel_job"),
        "can_enqueue": user.has_perm("jobs.add_job"),
    }


@require_GET
@staff_required
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    job = None
    if (job_id := request.GET.get("job", "")).isdigit():
        job = Job.objects.filter(pk=int(job_id)).first()
    context = {
        **_overview_context(),
        **_chart_context(),
        **_permissions(request),
        "depths": selectors.queue_depths(),
        "active": selectors.active_jobs(),
        "pending": selectors.pending_jobs(),
        "workers": selectors.worker_statuses(),
        "failures": selectors.recent_failures(),
        "form": EnqueueForm(),
        "job": job,
    }
    return render(request, "jobs/dashboard.html", context)


@require_GET
@staff_required
def overview(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "jobs/partials/overview.html", _overview_context())


@require_GET
@staff_required
def queues(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "jobs/partials/queues.html", {"depths": selectors.queue_depths()})


@require_GET
@staff_required
def chart(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "jobs/partials/chart.html", _chart_context())


@require_GET
@staff_required
def active(request: HtmxHttpRequest) -> HttpResponse:
    context = {"active": selectors.active_jobs(), **_permissions(request)}
    return render(request, "jobs/partials/active.html", context)


@require_GET
@staff_required
def pending(request: HtmxHttpRequest) -> HttpResponse:
    context = {"pending": selectors.pending_jobs(), "waiting": selectors.waiting()}
    return render(request, "jobs/partials/pending.html", context)


@require_GET
@staff_required
def workers(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "jobs/partials/workers.html", {"workers": selectors.worker_statuses()})


@require_GET
@staff_required
def failures(request: HtmxHttpRequest) -> HttpResponse:
    context = {"failures": selectors.recent_failures(), **_permissions(request)}
    return render(request, "jobs/partials/failures.html", context)


@require_GET
@staff_required
def job_detail(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """A job's panel. It polls itself while the job is live; once the job is finished the
    answer to a poll carries htmx's "stop polling" status with the final state."""
    job = get_object_or_404(Job.objects.select_related("owner"), pk=job_id)
    context = {"job": job, "attempts": job.attempt_history.all()[:20], **_permissions(request)}
    if not request.htmx:
        return redirect(f"{reverse('jobs:dashboard')}?job={job.pk}")
    response = render(request, "jobs/partials/job_detail.html", context)
    if job.is_finished:
        stop = HttpResponseStopPolling(response.content)
        return stop
    return response


# --- changes (POST, with permissions) ------------------------------------------------------------


def _job_changed(request: HtmxHttpRequest, job: Job, message: str, *, ok: bool) -> HttpResponse:
    """The changed job as the element that asked: the detail panel, or a row of a list."""
    job.refresh_from_db()
    context = {"job": job, "message": message, "ok": ok, **_permissions(request)}
    target = request.htmx.target or "" if request.htmx else ""
    if target == DETAIL_TARGET:
        context["attempts"] = job.attempt_history.all()[:20]
        template = "jobs/partials/job_detail.html"
    elif target.startswith("running-"):
        template = "jobs/partials/running_item.html"
    elif request.htmx:
        template = "jobs/partials/job_row.html"
    else:
        messages.add_message(request, messages.SUCCESS if ok else messages.WARNING, message)
        return redirect(f"{reverse('jobs:dashboard')}?job={job.pk}")
    return trigger_client_event(render(request, template, context), "jobs-changed")


@require_POST
@staff_required
def job_requeue(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    if not request.user.has_perm("jobs.requeue_job"):
        raise PermissionDenied("You may not requeue jobs.")
    job = get_object_or_404(Job, pk=job_id)
    try:
        requeued = job.requeue()
    except EnqueueRefused as exc:
        return _job_changed(request, job, f"Job #{job.pk} was not requeued: {exc}", ok=False)
    if requeued:
        return _job_changed(request, job, f"Requeued job #{job.pk}.", ok=True)
    return _job_changed(
        request,
        job,
        f"Job #{job.pk} is {job.get_status_display().lower()}: not requeued.",
        ok=False,
    )


@require_POST
@staff_required
def job_cancel(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    if not request.user.has_perm("jobs.cancel_job"):
        raise PermissionDenied("You may not cancel jobs.")
    job = get_object_or_404(Job, pk=job_id)
    if not job.cancel(reason=f"Cancelled by {request.user}"):
        message = f"Job #{job.pk} had already finished: not cancelled."
        return _job_changed(request, job, message, ok=False)
    if job.status == Job.Status.CANCELLED:
        return _job_changed(request, job, f"Cancelled job #{job.pk}.", ok=True)
    return _job_changed(request, job, f"Asked job #{job.pk} to stop.", ok=True)


@require_POST
@staff_required
def enqueue_jobs(request: HtmxHttpRequest) -> HttpResponse:
    """Put test work in the queue from the page (the same checks as ``manage.py enqueue``)."""
    if not request.user.has_perm("jobs.add_job"):
        raise PermissionDenied("You may not add jobs.")
    form = EnqueueForm(request.POST)
    created: list[Job] = []
    if form.is_valid():
        data = form.cleaned_data
        options = {
            "queue": data["queue"] or None,
            "priority": data["priority"],
            "delay": data["delay"],
        }  # no owner: staff test work is no user's
        try:
            if data["count"] == 1:
                created = [enqueue(data["type"], data["payload"], **options)]
            else:
                created = enqueue_many(data["type"], [data["payload"]] * data["count"], **options)
        except (JobError, ValueError) as exc:
            form.add_error(None, str(exc))
    status = 200 if form.is_valid() and created else 422
    if not request.htmx:
        if created:
            messages.success(request, f"Enqueued {len(created)} job(s).")
            return redirect("jobs:dashboard")
        return render(
            request,
            "jobs/enqueue_page.html",
            {"form": form, **_permissions(request)},
            status=status,
        )
    context: dict[str, Any] = {
        "form": EnqueueForm(initial=request.POST.dict()) if created else form,
        "created": created,
        **_permissions(request),
    }
    response = render(request, "jobs/partials/enqueue_form.html", context, status=status)
    return trigger_client_event(response, "jobs-changed") if created else response
