from __future__ import annotations

from django.apps import AppConfig


class BriefsConfig(AppConfig):
    name = "briefs"
    verbose_name = "Briefs"

    def ready(self) -> None:
        from briefs import checks, receivers, steps  # noqa: F401 - registers job types and checks

        receivers.connect()
