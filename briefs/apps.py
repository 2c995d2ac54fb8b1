from __future__ import annotations

from django.apps import AppConfig


class BriefsConfig(AppConfig):
    name = "briefs"
    verbose_name = "Briefs"

    def ready(self) -> None:
        from briefs import checks, links, receivers, steps  # noqa: F401 - job types, checks
        from jobs import display

        receivers.connect()
        display.register_link_provider(links.job_links)
        display.register_search_provider(links.search_jobs)
