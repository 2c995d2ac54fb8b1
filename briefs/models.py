"""What users ask for, and what the AI steps make of it.

A brief's status is derived from its jobs, never set by hand: ``draft`` with no jobs,
``processing`` while any job is queued or running, ``failed`` when a job failed or was cancelled
and none is live, ``completed`` when every job succeeded. A job that a newer job of the same type
replaced (the step was started again) no longer counts. Transcripts and SOPs keep a nullable
link to the job that made them, so pruning old jobs never loses a result.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Case, Count, Exists, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

LIVE = ("queued", "running")
BAD = ("failed", "cancelled")


def _current_jobs(brief: Any) -> QuerySet[Any]:
    """A brief's jobs that no newer job of the same type replaced (a retry by starting again)."""
    from jobs.models import Job

    newer = Job.objects.filter(
        brief_id=OuterRef("brief_id"), type=OuterRef("type"), pk__gt=OuterRef("pk")
    )
    return Job.objects.filter(brief=brief).exclude(Exists(newer))


def _count(jobs: QuerySet[Any]) -> Coalesce:
    counted = jobs.order_by().values("brief_id").annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted), Value(0))


class BriefQuerySet(models.QuerySet["Brief"]):
    def with_status(self) -> BriefQuerySet:
        """Annotate ``derived_status`` (one query for a whole list; ``Brief.status`` uses it).

        Filter on it like a field: ``Brief.objects.with_status().filter(derived_status="failed")``.
        """
        from jobs.models import Job

        jobs = Job.objects.filter(brief=OuterRef("pk"))
        return self.annotate(
            _jobs_total=_count(jobs),
            _jobs_live=_count(jobs.filter(status__in=LIVE)),
            _jobs_bad=_count(_current_jobs(OuterRef("pk")).filter(status__in=BAD)),
        ).annotate(
            derived_status=Case(
                When(_jobs_total=0, then=Value(Brief.Status.DRAFT.value)),
                When(_jobs_live__gt=0, then=Value(Brief.Status.PROCESSING.value)),
                When(_jobs_bad__gt=0, then=Value(Brief.Status.FAILED.value)),
                default=Value(Brief.Status.COMPLETED.value),
                output_field=models.CharField(max_length=16),
            )
        )

    def owned_by(self, user: Any) -> BriefQuerySet:
        return self.filter(owner=user)


class Brief(models.Model):
    class MediaType(models.TextChoices):
        VIDEO = "video", "Video"
        IMAGE = "image", "Image"
        AUDIO = "audio", "Audio"
        TEXT = "text", "Text"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

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

    objects = BriefQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    @property
    def status(self) -> str:
        """draft / processing / failed / completed, from the brief's jobs.

        Only the newest job of each type counts for ``failed``: starting a failed step again
        (or requeuing it) and succeeding makes the brief completed.
        """
        annotated = self.__dict__.get("derived_status")
        if annotated is not None:
            return annotated
        latest: dict[str, str] = {}
        live = False
        for job_type, status in self.jobs.order_by("id").values_list("type", "status"):
            latest[job_type] = status
            live = live or status in LIVE
        if live:
            return Brief.Status.PROCESSING
        return status_from_job_statuses(list(latest.values()))

    def get_status_display(self) -> str:
        return Brief.Status(self.status).label

    @property
    def failure_reason(self) -> str:
        """Why the brief failed, from its first failed job ("" if nothing failed)."""
        current = _current_jobs(self)
        job = current.filter(status="failed").order_by("finished_at", "id").first()
        if job is None:
            job = current.filter(status="cancelled").order_by("finished_at", "id").first()
        if job is None:
            return ""
        return f"{job.type} (job #{job.pk}): {_READABLE.sub('', job.error)}"

    @property
    def video_assets(self) -> list[dict[str, Any]]:
        return [a for a in self.assets if isinstance(a, dict) and a.get("kind") == "video"]


# The worker records errors as "ExceptionName: message"; these names say nothing to a person.
_READABLE = re.compile(
    r"^(PermanentError|MediaError|FetchError|RetryableFetchError|AIUnavailable|SchemaMismatch): "
)


def status_from_job_statuses(statuses: list[str]) -> str:
    if not statuses:
        return Brief.Status.DRAFT
    if any(status in LIVE for status in statuses):
        return Brief.Status.PROCESSING
    if any(status in BAD for status in statuses):
        return Brief.Status.FAILED
    return Brief.Status.COMPLETED


class Transcript(models.Model):
    """One timestamped transcript of a video: what is said and what happens on screen.

    ``segments`` is a list of ``{"start": s, "end": s, "kind": "speech" | "screen", "text": …}``
    sorted by ``start`` (seconds from the start of the video).
    """

    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="transcripts"
    )
    brief = models.ForeignKey(Brief, on_delete=models.CASCADE, related_name="transcripts")
    segments = models.JSONField(default=list)
    language = models.CharField(max_length=32, blank=True)
    model = models.CharField(max_length=200, help_text="Models that made it, or 'offline'.")
    prompt_version = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Transcript of {self.brief} ({len(self.segments)} segments)"

    @property
    def text(self) -> str:
        """The transcript as readable lines: ``[00:03-00:05] (screen) …``."""
        return "\n".join(format_segment(segment) for segment in self.segments)


def format_segment(segment: dict[str, Any]) -> str:
    def stamp(seconds: float) -> str:
        total = int(seconds)
        return f"{total // 60:02d}:{total % 60:02d}"

    start = float(segment.get("start", 0))
    end = float(segment.get("end", start))
    return (
        f"[{stamp(start)}-{stamp(end)}] ({segment.get('kind', 'speech')}) {segment.get('text', '')}"
    )


class SOP(models.Model):
    """A standard operating procedure made from a transcript, for the brief's owner.

    ``data`` follows ``briefs.schemas.SOP_SCHEMA``: title, purpose, and steps with actions,
    tools and timestamps into the transcript. It is always the latest version's data; every
    version (extraction, edit, restore) is kept in :class:`SOPVersion`, and ``approved_version``
    is the one staff approved last (see ``briefs/sops.py`` for the review moves).
    """

    class ReviewState(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"

    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="sops"
    )
    brief = models.ForeignKey(Brief, on_delete=models.CASCADE, related_name="sops")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sops"
    )
    transcript = models.ForeignKey(
        Transcript, null=True, blank=True, on_delete=models.SET_NULL, related_name="sops"
    )
    data = models.JSONField()
    model = models.CharField(max_length=200)
    prompt_version = models.CharField(max_length=100)
    review_state = models.CharField(
        max_length=20, choices=ReviewState.choices, default=ReviewState.DRAFT
    )
    approved_version = models.ForeignKey(
        "briefs.SOPVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The version staff approved last; the API serves it by default.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "SOP"
        verbose_name_plural = "SOPs"
        permissions = [("review_sop", "Can approve SOPs or request changes")]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        data = self.data if isinstance(self.data, dict) else {}
        return str(data.get("title") or f"SOP #{self.pk}")

    @property
    def steps(self) -> list[dict[str, Any]]:
        data = self.data if isinstance(self.data, dict) else {}
        steps = data.get("steps")
        return steps if isinstance(steps, list) else []


class SOPVersion(models.Model):
    """One saved state of an SOP: made by extraction (``author`` empty), an edit or a restore."""

    class Source(models.TextChoices):
        EXTRACTION = "extraction", "Extraction"
        EDIT = "edit", "Edit"
        RESTORE = "restore", "Restore"

    sop = models.ForeignKey(SOP, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    data = models.JSONField()
    source = models.CharField(max_length=12, choices=Source.choices)
    restored_from = models.PositiveIntegerField(null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sop_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["sop", "number"], name="sop_version_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.sop} v{self.number}"


class SOPReview(models.Model):
    """One move of an SOP's review state: who, when, from what to what, and why."""

    sop = models.ForeignKey(SOP, on_delete=models.CASCADE, related_name="reviews")
    version = models.ForeignKey(SOPVersion, on_delete=models.CASCADE, related_name="reviews")
    from_state = models.CharField(max_length=20, choices=SOP.ReviewState.choices)
    to_state = models.CharField(max_length=20, choices=SOP.ReviewState.choices)
    comment = models.TextField(blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.sop}: {self.from_state} → {self.to_state}"
