"""The operator's tables: a record per queue (paused, limits, held) and periodic schedules.

Imported by ``jobs/models.py`` so Django sees them as models of the ``jobs`` app. They point at
nothing outside the queue: the pause records who paused by name, not by a foreign key.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone as dj_timezone

from jobs import cron


class Queue(models.Model):
    """A queue that staff steer. Made on first use (a pause, a limit, a hold, a listing);
    a queue without a record runs unpaused and unlimited."""

    name = models.CharField(max_length=100, unique=True)
    paused = models.BooleanField(default=False)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_by = models.CharField(max_length=150, blank=True)
    pause_reason = models.CharField(max_length=500, blank=True)
    concurrency_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="At most this many of its jobs run at once, on all workers. Empty: no limit.",
    )
    rate_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="At most this many job starts per rate period, across every worker.",
    )
    rate_period = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.1)],
        help_text="Seconds of the rate limit's sliding window (e.g. 60).",
    )
    # Start times inside the current rate window (ISO strings), kept under the row's lock.
    recent_starts = models.JSONField(default=list, blank=True, editable=False)
    held_until = models.DateTimeField(null=True, blank=True)
    hold_reason = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [
            ("pause_queue", "Can pause and resume queues, and release held ones"),
            ("limit_queue", "Can set concurrency and rate limits of queues"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if (self.rate_limit is None) != (self.rate_period is None):
            raise ValidationError("A rate limit needs both a number of starts and a period.")

    def held(self, now: datetime | None = None) -> bool:
        return bool(self.held_until and self.held_until > (now or dj_timezone.now()))

    @property
    def limited(self) -> bool:
        return self.concurrency_limit is not None or self.rate_limit is not None

    @property
    def rate_text(self) -> str:
        if self.rate_limit is None or self.rate_period is None:
            return ""
        return f"{self.rate_limit}/{self.rate_period:g}s"


class Schedule(models.Model):
    """A job type enqueued on a cron expression. Schedules declared in code
    (``@register(..., schedule=…)``) are kept in step with their declaration; staff make
    others in the admin."""

    class Source(models.TextChoices):
        CODE = "code", "Code"
        ADMIN = "admin", "Admin"

    class Missed(models.TextChoices):
        RUN_ONCE = "once", "Run once after downtime"
        SKIP = "skip", "Skip missed ticks"

    name = models.CharField(max_length=200, unique=True)
    job_type = models.CharField(max_length=100)
    payload = models.JSONField(default=dict, blank=True)
    queue = models.CharField(max_length=100, blank=True, help_text="Empty: the type's queue.")
    cron = models.CharField(max_length=200, help_text='Five fields, e.g. "0 3 * * *".')
    timezone = models.CharField(max_length=64, default="UTC")
    enabled = models.BooleanField(default=True)
    missed = models.CharField(max_length=8, choices=Missed.choices, default=Missed.RUN_ONCE)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.ADMIN)
    next_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_job_id = models.BigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=dj_timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        permissions = [("run_schedule", "Can run a periodic job now")]
        indexes = [
            models.Index("next_run_at", name="schedule_due_idx", condition=Q(enabled=True)),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        """A schedule without a next run (new, or its cron changed) gets the next tick."""
        if self.next_run_at is None:
            self.next_run_at = self.next_tick(after=dj_timezone.now())
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors = {}
        try:
            cron.zone(self.timezone)
        except ValueError as exc:
            errors["timezone"] = str(exc)
        try:
            cron.check(self.cron)
        except ValueError as exc:
            errors["cron"] = str(exc)
        from jobs import registry

        if self.job_type and self.job_type not in registry.names():
            errors["job_type"] = (
                f"Unknown job type {self.job_type!r}. Known types: {', '.join(registry.names())}."
            )
        elif self.job_type:
            try:
                self.payload = registry.get(self.job_type).clean(self.payload or {})
            except ValueError as exc:
                errors["payload"] = str(exc)
        if errors:
            raise ValidationError(errors)

    def next_tick(self, *, after: datetime) -> datetime:
        return cron.next_after(self.cron, self.timezone, after)

    def latest_tick(self, *, at: datetime, since: datetime) -> datetime:
        """The last tick at or before ``at``, starting the search at ``since`` (a tick)."""
        tick = since
        for _ in range(100_000):  # every minute of ten weeks at most
            following = cron.next_after(self.cron, self.timezone, tick)
            if following > at:
                return tick
            tick = following
        return tick


class ScheduleRun(models.Model):
    """One row per tick that made a job: the unique constraint is what makes a tick run once
    however many workers reach it together."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="runs")
    tick = models.DateTimeField()
    job_id = models.BigIntegerField(null=True, blank=True)
    manual = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        ordering = ["-tick"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "tick"], name="schedule_run_once_per_tick")
        ]

    def __str__(self) -> str:
        return f"{self.schedule} @ {self.tick:%Y-%m-%d %H:%M}"


MISSED_GRACE = timedelta(seconds=60)
