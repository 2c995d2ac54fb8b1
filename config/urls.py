from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, reverse_lazy

# The admin carries the app's name, and "View site" leads to the staff's front page: the live
# dashboard (the app has no public site of its own).
admin.site.site_header = "Jobs administration"
admin.site.site_title = "Jobs admin"
admin.site.index_title = "Jobs, briefs and their results"
admin.site.site_url = reverse_lazy("jobs:dashboard")  # type: ignore[assignment]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("test-worker/", include("jobs.urls")),
    path("spend/", include("briefs.urls")),
    path("", include("api.urls")),
]
