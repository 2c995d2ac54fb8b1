"""Personal API tokens: programs send ``Authorization: Bearer <token>``.

A token is shown once, when staff create it in the admin; only its SHA-256 hash is stored, so a
leaked database does not leak working tokens. Tokens are random (256 bits), so a fast hash is
enough: there is nothing to brute-force. Revoking keeps the row for the record.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "jat_"  # noqa: S105 - marks our tokens, not a secret
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_raw_token() -> str:
    """A fresh token: a recognisable prefix and 256 random bits."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self, *, now: Any = None):
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True, user__is_active=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )

    def create_token(self, *, user: Any, name: str, expires_at: Any = None) -> tuple[ApiToken, str]:
        """Create a token for ``user``; returns the row and the raw token (shown once)."""
        raw = new_raw_token()
        token = self.create(
            user=user, name=name, prefix=raw[:12], key_hash=hash_token(raw), expires_at=expires_at
        )
        return token, raw

    def authenticate(self, raw: str) -> ApiToken | None:
        """The usable token with this value, or None. Records when it was last used."""
        if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
            return None
        token = self.usable().select_related("user").filter(key_hash=hash_token(raw)).first()
        if token is None:
            return None
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'cron host'.")
    prefix = models.CharField(
        max_length=12, editable=False, help_text="The first characters, to recognise a token."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Leave empty for a token that does not expire."
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()

    def revoke(self) -> bool:
        """Stop the token working at once. False when it was revoked already."""
        now = timezone.now()
        changed = ApiToken.objects.filter(pk=self.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if changed:
            self.revoked_at = now
        return bool(changed)
