"""URLs of the API app: ``/api/…`` (django-ninja) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path, re_path

from api.api import api
from api.metrics import metrics_view


def api_not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Unknown ``/api/…`` paths answer JSON like the rest of the API, not an HTML page."""
    return JsonResponse(
        {"error": "not_found", "message": "No such API endpoint; see /api/docs.", "fields": []},
        status=404,
    )


urlpatterns = [
    path("api/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", api_not_found),
    path("metrics", metrics_view, name="metrics"),
]
