"""What users ask for. A brief's status is derived from its jobs, never set by hand."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Brief(models.Model):
    class MediaType(models.TextChoices):
        VIDEO = "video", "Video"
        IMAGE = "image", "Image"
        AUDIO = "audio", "Audio"
        TEXT = "text", "Text"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="briefs"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    query = models.TextField(help_text="What the user asked for.")
    media_type = models.CharField(max_length=10, choices=MediaType.choices)
    assets = models.JSONField(default=list, blank=True, help_text="Uploaded files or URLs.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title
