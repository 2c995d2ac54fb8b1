"""Budget caps: before a paid AI call, and before new paid work is started.

How they hold under concurrency: the check reads the committed usage rows just before each
call, and every call writes its row (committed) as soon as it answers. So once the spend of a
period reaches a cap, no call *starts*; calls that had passed the check before that moment still
finish and are recorded. The overshoot is therefore at most the cost of the calls in flight when
the cap was reached: at most one call per running job (a worker thread makes one call at a
time), i.e. ``(workers × concurrency) × (the costliest single call)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Q, Sum
from django.utils import timezone

from briefs.spend.models import AICall, BudgetCap
from jobs.exceptions import JobHeld

if TYPE_CHECKING:
    from jobs.context import JobContext


@dataclass(frozen=True)
class Breach:
    cap: BudgetCap
    spent: Decimal
    resets_at: datetime

    @property
    def reason(self) -> str:
        """``monthly budget of $200.00 reached`` (and whose, for a user's cap)."""
        period = "daily" if self.cap.period == BudgetCap.Period.DAY else "monthly"
        user = self.cap.user
        whose = f" for {user.get_username()}" if user is not None else ""
        return f"{period} budget of ${self.cap.amount:,.2f}{whose} reached"


def period_bounds(period: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The start and the end of the current day or month, in ``TIME_ZONE``."""
    local = timezone.localtime(now or timezone.now())
    if period == BudgetCap.Period.DAY:
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + timedelta(days=1)
    else:
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (start + timedelta(days=32)).replace(day=1)
    # Re-localise across a daylight-saving change.
    tz = timezone.get_current_timezone()
    return (
        timezone.make_aware(start.replace(tzinfo=None), tz),
        timezone.make_aware(end.replace(tzinfo=None), tz),
    )


def spent(*, since: datetime, user_id: int | None = None) -> Decimal:
    """Dollars spent since ``since`` (by one user, or by everyone)."""
    rows = AICall.objects.filter(created_at__gte=since)
    if user_id is not None:
        rows = rows.filter(user_id=user_id)
    total = rows.aggregate(total=Sum("cost"))["total"] or Decimal(0)
    return Decimal(total).quantize(Decimal("0.000001"))


def caps_for(user_id: int | None) -> list[BudgetCap]:
    """The caps that apply to a user's calls (theirs and the global ones)."""
    scope = Q(user__isnull=True)
    if user_id is not None:
        scope |= Q(user_id=user_id)
    return list(BudgetCap.objects.filter(scope).select_related("user"))


def breach(user_id: int | None, *, now: datetime | None = None) -> Breach | None:
    """The first cap that the spend of its period has reached, or None."""
    now = now or timezone.now()
    for cap in caps_for(user_id):
        start, end = period_bounds(cap.period, now)
        total = spent(since=start, user_id=cap.user_id)
        if total >= cap.amount:
            return Breach(cap=cap, spent=total, resets_at=end)
    return None


def check(ctx: JobContext | None) -> None:
    """Before a paid AI call: raise :class:`~jobs.exceptions.JobHeld` when a cap is reached.

    The job goes back to the queue (the attempt does not count) and runs again when the period
    rolls over, or at once when staff raise the cap (:func:`resume_held`).
    """
    if ctx is None:
        return
    found = breach(ctx.job.owner_id)
    if found is not None:
        raise JobHeld(found.reason, until=found.resets_at)


#: Job types that call the AI (and so are held and refused by the caps). ``video_slim`` only
#: runs ffmpeg.
AI_JOB_TYPES = frozenset(
    {
        "analysis",
        "storyboard",
        "asset_prep",
        "text_analysis",
        "image_processing",
        "video_generation",
        "render",
        "ai_generation",
        "sentiment_analysis",
        "prompt_analysis",
        "transcribe",
        "sop_extract",
    }
)


def refuse_if_reached(*, owner_id: int | None, job_types: Iterable[str]) -> None:
    """Before new work is enqueued: raise :class:`BudgetReached` when it includes AI job types
    and a cap that applies to ``owner_id`` is reached."""
    from briefs.spend.exceptions import BudgetReached

    if not AI_JOB_TYPES.intersection(job_types):
        return
    found = breach(owner_id)
    if found is not None:
        raise BudgetReached(found.reason, resets_at=found.resets_at)


def resume_held(cap: BudgetCap | None = None) -> int:
    """After a cap was raised or removed: the jobs it held run again (they check again when
    they call the AI, and are held again if another cap still stands)."""
    from jobs.models import Job

    held = Job.objects.held()
    if cap is not None and cap.user_id is not None:
        held = held.filter(owner_id=cap.user_id)
    return held.resume_held()


def describe(user: Any) -> dict[str, Any]:
    """Each cap that applies to ``user`` with what was spent in its period (for pages)."""
    now = timezone.now()
    out = []
    for cap in caps_for(getattr(user, "pk", None)):
        start, end = period_bounds(cap.period, now)
        total = spent(since=start, user_id=cap.user_id)
        out.append({"cap": cap, "spent": total, "reached": total >= cap.amount, "resets_at": end})
    return {"caps": out}
