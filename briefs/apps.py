from __future__ import annotations

from django.apps import AppConfig


class BriefsConfig(AppConfig):
    name = "briefs"
    verbose_name = "Briefs"

    def ready(self) -> None:
        from briefs import checks, handlers, links  # noqa: F401 - registers job types and checks
        from jobs import display

        display.register_link_provider(links.job_links)
        display.register_search_provider(links.search_jobs)
