"""Refusals of the spend rules."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from jobs.exceptions import EnqueueRefused


class BudgetReached(EnqueueRefused):
    """New paid AI work was refused because a budget cap that applies is reached (by the
    ``enqueued``/``requeued`` receiver in ``briefs/spend/receivers.py``). Nothing was enqueued.
    The API answers 402 ``budget_reached``."""

    http_status = 402
    code = "budget_reached"

    def __init__(self, reason: str, *, resets_at: datetime) -> None:
        when = timezone.localtime(resets_at).strftime("%Y-%m-%d %H:%M %Z")
        super().__init__(f"The {reason} (resets {when}): paid AI work cannot start now.")
        self.reason = reason
        self.resets_at = resets_at
