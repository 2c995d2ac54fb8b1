"""What AI calls cost: one usage row per call, the price table, and budget caps.

These are the product's rows (app label ``briefs``; ``briefs/models.py`` imports them). A usage
row keeps its job, user and brief as nullable links, so pruning old jobs or deleting a brief
never loses what was spent. Money is ``Decimal`` in US dollars.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Kind(models.TextChoices):
    TEXT = "text", "Text"
    VISION = "vision", "Vision"
    SPEECH_TO_TEXT = "speech_to_text", "Speech to text"
    IMAGE = "image", "Image generation"
    SPEECH = "speech", "Speech (text to speech)"
    VIDEO = "video", "Video generation"


class AICall(models.Model):
    """One AI call: what it used, and what it cost with the prices valid when it was made."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="ai_calls"
    )
    job_type = models.CharField(max_length=100, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ai_calls",
    )
    brief = models.ForeignKey(
        "briefs.Brief", null=True, blank=True, on_delete=models.SET_NULL, related_name="ai_calls"
    )
    provider = models.CharField(max_length=20, help_text="openai, or offline (costs nothing).")
    model = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    input_tokens = models.PositiveIntegerField(default=0, help_text="Including cached ones.")
    cached_input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0, help_text="Including reasoning.")
    reasoning_tokens = models.PositiveIntegerField(default=0)
    audio_seconds = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    images = models.PositiveIntegerField(default=0)
    video_seconds = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    characters = models.PositiveIntegerField(default=0, help_text="Text sent to speech.")
    request_id = models.CharField(max_length=200, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    retried = models.BooleanField(default=False, help_text="The SDK retried the request.")
    cost = models.DecimalField(
        max_digits=14, decimal_places=6, default=Decimal(0), help_text="US dollars."
    )
    priced = models.BooleanField(
        default=True, help_text="False when the price table had no price for a unit used."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "AI call"
        indexes = [
            models.Index("user", "created_at", name="aicall_user_created_idx"),
            models.Index("brief", name="aicall_brief_idx"),
            models.Index("job", name="aicall_job_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(cost__gte=0), name="aicall_cost_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.model} ${self.cost}"


class Price(models.Model):
    """What one unit of a model's usage costs, from ``valid_from`` on (until a newer row).

    A call is priced with the rows valid at its time, and the cost is stored with it: adding a
    new price later does not rewrite history.
    """

    class Unit(models.TextChoices):
        INPUT_TOKENS = "input_1m_tokens", "per 1M input tokens"
        CACHED_INPUT_TOKENS = "cached_input_1m_tokens", "per 1M cached input tokens"
        OUTPUT_TOKENS = "output_1m_tokens", "per 1M output tokens (reasoning included)"
        AUDIO_MINUTES = "audio_minute", "per minute of audio"
        IMAGES = "image", "per image"
        VIDEO_SECONDS = "video_second", "per second of video"
        CHARACTERS = "1m_characters", "per 1M characters"

    model = models.CharField(max_length=100)
    unit = models.CharField(max_length=30, choices=Unit.choices)
    price = models.DecimalField(
        max_digits=14, decimal_places=6, validators=[MinValueValidator(Decimal(0))]
    )
    valid_from = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["model", "unit", F("valid_from").desc()]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "unit", "valid_from"], name="price_model_unit_from_unique"
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.model}: ${self.price} {self.get_unit_display()}"


class BudgetCap(models.Model):
    """At most ``amount`` dollars of AI calls per day or month, for one user or for everyone
    (no user). Periods start at midnight and on the 1st, in ``TIME_ZONE``."""

    class Period(models.TextChoices):
        DAY = "day", "Daily"
        MONTH = "month", "Monthly"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="budget_caps",
        help_text="Empty: the cap is for everyone's calls together.",
    )
    period = models.CharField(max_length=10, choices=Period.choices)
    amount = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal(0))]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user__username", "period"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "period"],
                condition=Q(user__isnull=False),
                name="budgetcap_user_period_unique",
            ),
            models.UniqueConstraint(
                fields=["period"], condition=Q(user__isnull=True), name="budgetcap_global_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="budgetcap_not_negative"),
        ]

    def __str__(self) -> str:
        who = self.user.get_username() if self.user else "everyone"
        return f"{self.get_period_display()} budget of ${self.amount:,.2f} for {who}"
