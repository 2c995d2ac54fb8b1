from __future__ import annotations

from django.urls import path

from jobs import views

app_name = "jobs"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("overview/", views.overview, name="overview"),
    path("queues/", views.queues, name="queues"),
    path("chart/", views.chart, name="chart"),
    path("active/", views.active, name="active"),
    path("pending/", views.pending, name="pending"),
    path("workers/", views.workers, name="workers"),
    path("failures/", views.failures, name="failures"),
    path("enqueue/", views.enqueue_jobs, name="enqueue"),
    path("jobs/<int:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<int:job_id>/requeue/", views.job_requeue, name="job_requeue"),
    path("jobs/<int:job_id>/cancel/", views.job_cancel, name="job_cancel"),
]
