from __future__ import annotations

from django.apps import AppConfig


class BriefsConfig(AppConfig):
    name = "briefs"
    verbose_name = "Briefs"

    def ready(self) -> None:
        from briefs import checks, housekeeping, links, receivers, steps  # noqa: F401 - job types
        from briefs.spend import receivers as spend_receivers
        from jobs import display, panels

        receivers.connect()
        spend_receivers.connect()
        panels.register("briefs:spend_panel")
        display.register_link_provider(links.job_links)
        display.register_search_provider(links.search_jobs)
