from __future__ import annotations

from django.urls import path

from briefs.spend import views

app_name = "briefs"

urlpatterns = [
    path("panel/", views.spend_panel, name="spend_panel"),
]
