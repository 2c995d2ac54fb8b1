from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("test-worker/", include("jobs.urls")),
    path("spend/", include("briefs.urls")),
    path("", include("api.urls")),
]
