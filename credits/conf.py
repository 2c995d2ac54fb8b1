"""The credits app's settings, with their defaults (the one place each is written; see
``jobs/conf.py`` for how ``config/settings.py`` reads them from the environment)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "CREDITS_STARTING_BALANCE": 100,
}


def setting(name: str) -> Any:
    """The project's value of one of the credits settings, or its default."""
    return getattr(settings, name, DEFAULTS[name])


def starting_balance() -> int:
    """Credits a user's account starts with when their first paid job is enqueued."""
    return int(setting("CREDITS_STARTING_BALANCE"))
