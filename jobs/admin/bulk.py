"""Bulk actions in the admin, by the job list's current filter (``/admin/jobs/queue/bulk/``).
The same form and services as the dashboard's bulk page."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from jobs.views_operator import bulk_response


def bulk_admin_view(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405)
    context = {**admin.site.each_context(request), "title": "Bulk actions on jobs"}
    return bulk_response(
        request,  # type: ignore[arg-type]
        template="admin/jobs/bulk.html",
        here=reverse("admin:jobs_queue_bulk"),
        context=context,
    )
