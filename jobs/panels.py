"""Extra panels of the dashboard: how the apps above the queue add their views to it without
the queue knowing them (the briefs app adds its spend panel from ``BriefsConfig.ready()``).

A panel is a URL name; the dashboard loads it with htmx below its own sections and refreshes
it every 30 seconds while live."""

from __future__ import annotations

_panels: list[str] = []


def register(url_name: str) -> None:
    """Add the view named ``url_name`` (e.g. ``"briefs:spend_panel"``) to the dashboard."""
    if url_name not in _panels:
        _panels.append(url_name)


def url_names() -> list[str]:
    return list(_panels)
