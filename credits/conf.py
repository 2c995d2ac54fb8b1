"""The credits app's settings, read when asked."""

from __future__ import annotations

from django.conf import settings


def starting_balance() -> int:
    """Credits a user's account starts with when their first paid job is enqueued."""
    return int(settings.CREDITS_STARTING_BALANCE)
