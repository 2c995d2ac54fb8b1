from __future__ import annotations

from django.urls import path

from jobs import views, views_operator

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
    path("queues/<str:name>/", views_operator.queue_page, name="queue"),
    path("queues/<str:name>/<str:action>/", views_operator.queue_control, name="queue_control"),
    path("types/", views_operator.types_page, name="types"),
    path("schedules/", views_operator.schedules_page, name="schedules"),
    path(
        "schedules/<int:schedule_id>/run/",
        views_operator.schedule_run_now,
        name="schedule_run_now",
    ),
    path("bulk/", views_operator.bulk_page, name="bulk"),
    path(
        "workers/<str:worker_id>/<str:command>/",
        views_operator.worker_command,
        name="worker_command",
    ),
]
