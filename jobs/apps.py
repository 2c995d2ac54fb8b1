from __future__ import annotations

from importlib import import_module

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        from jobs import checks, conf  # noqa: F401 - registers the system checks

        import_module("jobs.handlers")
        import_module("jobs.backends")  # registers the django_task handler of @task functions
        for module in conf.handler_modules():
            import_module(module)
