"""Balances and their ledger. A balance only changes through :mod:`credits.services`, always
together with a :class:`CreditEntry`, so the ledger explains every credit."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class CreditAccount(models.Model):
    """A user's credit balance. Created on the first charge with ``CREDITS_STARTING_BALANCE``."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credit_account"
    )
    balance = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="credit_balance_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.balance} credits)"


class CreditEntry(models.Model):
    """One line of the ledger: a grant, a charge for a job, or a refund of one."""

    class Kind(models.TextChoices):
        GRANT = "grant", "Grant"
        CHARGE = "charge", "Charge"
        REFUND = "refund", "Refund"

    account = models.ForeignKey(CreditAccount, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    delta = models.IntegerField(help_text="Credits added (positive) or taken (negative).")
    balance_after = models.IntegerField()
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="credit_entries"
    )
    job_type = models.CharField(max_length=100, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "credit entries"
        indexes = [models.Index("account", F("created_at").desc(), name="credit_entry_account_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.delta:+d} -> {self.balance_after}"
