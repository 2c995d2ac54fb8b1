from __future__ import annotations

from django.apps import AppConfig


class CreditsConfig(AppConfig):
    name = "credits"
    verbose_name = "Credits"

    def ready(self) -> None:
        from credits import receivers

        receivers.connect()
