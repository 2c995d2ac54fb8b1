from __future__ import annotations

from importlib import import_module

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        from jobs import checks, conf  # noqa: F401 - registers the system checks

        # The operator's admin pages, in modules of their own beside the jobs admin.
        for module in ("jobs.admin_queues", "jobs.admin_schedules", "jobs.admin_bulk"):
            import_module(module)
        import_module("jobs.handlers")
        import_module("jobs.backends")  # registers the django_task handler of @task functions
        for module in conf.handler_modules():
            import_module(module)
