"""What users ask for, and what the AI steps make of it.

The briefs app owns everything a user keeps: the brief and its stored ``status``, the links to
the jobs that work for it (:class:`BriefJob`), and every output a step makes
(:class:`Artifact`, :class:`Transcript`, :class:`SOP`). Queue rows are history: deleting jobs
(``prunejobs``, the admin) sets the outputs' and links' ``job`` to null and changes nothing else.

``Brief.status`` is moved by the receivers in ``briefs/receivers.py`` (and by the start
services), always computed from the brief's link rows by :func:`status_from_links`: ``draft``
with no links, ``processing`` while any linked job is live (queued or running), ``failed`` when
the newest link of some job type failed or was cancelled, ``completed`` otherwise. A job that a
newer job of the same type replaced (the step was started again) no longer counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

LIVE = ("queued", "running")
BAD = ("failed", "cancelled")


class BriefQuerySet(models.QuerySet["Brief"]):
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
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BriefQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    @property
    def failure_reason(self) -> str:
        """Why the brief failed, from its first failed link ("" if nothing failed)."""
        links = current_links(self.job_links.order_by("id"))
        bad = [link for link in links if link.status == BriefJob.Status.FAILED]
        bad = bad or [link for link in links if link.status == BriefJob.Status.CANCELLED]
        if not bad:
            return ""
        link = min(bad, key=lambda item: (item.finished_at is None, item.finished_at, item.pk))
        job = f"job #{link.job_id}" if link.job_id else "job deleted"
        return f"{link.job_type} ({job}): {_READABLE.sub('', link.error)}"

    @property
    def video_assets(self) -> list[dict[str, Any]]:
        return [a for a in self.assets if isinstance(a, dict) and a.get("kind") == "video"]


# The worker records errors as "ExceptionName: message"; these names say nothing to a person.
_READABLE = re.compile(
    r"^(PermanentError|MediaError|FetchError|RetryableFetchError|AIUnavailable|SchemaMismatch): "
)


def status_from_links(rows: Iterable[tuple[str, str]]) -> str:
    """The brief status from its links' ``(job_type, status)``, oldest link first."""
    latest: dict[str, str] = {}
    live = False
    for job_type, status in rows:
        latest[job_type] = status
        live = live or status in LIVE
    if not latest:
        return Brief.Status.DRAFT
    if live:
        return Brief.Status.PROCESSING
    if any(status in BAD for status in latest.values()):
        return Brief.Status.FAILED
    return Brief.Status.COMPLETED


def current_links(links: Iterable[BriefJob]) -> list[BriefJob]:
    """The newest link of each job type (links given oldest first)."""
    latest: dict[str, BriefJob] = {}
    for link in links:
        latest[link.job_type] = link
    return list(latest.values())


class BriefJob(models.Model):
    """A job that works (or worked) for a brief. ``status`` mirrors the job's status as the
    hooks report it: ``queued`` while the job is live (queued or running), then its outcome;
    it stays when the job row is deleted (``job`` becomes null)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    brief = models.ForeignKey(Brief, on_delete=models.CASCADE, related_name="job_links")
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="brief_links"
    )
    job_type = models.CharField(max_length=100)
    step = models.PositiveSmallIntegerField(default=1, help_text="Position in its chain.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["job"], condition=Q(job__isnull=False), name="briefjob_one_brief_per_job"
            )
        ]
        verbose_name = "brief job"

    def __str__(self) -> str:
        return f"{self.job_type} of brief #{self.brief_id} ({self.status})"


class Artifact(models.Model):
    """One output of a step: a stored file (``file``, a name we chose under MEDIA_ROOT) or a
    JSON document (``document``). ``meta`` holds what the step said about a file (size in
    pixels, probe, prompt…). When a step runs again for the same brief, its earlier artifacts
    are superseded (``current`` false, kept and still downloadable); an earlier row whose file
    the new run overwrote in place (the slim copy) is replaced instead."""

    class Kind(models.TextChoices):
        ANALYSIS = "analysis", "Analysis"
        STORYBOARD = "storyboard", "Storyboard"
        ASSET_REPORT = "asset_report", "Asset report"
        TEXT_ANALYSIS = "text_analysis", "Text analysis"
        IMAGE = "image", "Image"
        VIDEO = "video", "Video"
        NARRATION = "narration", "Narration"
        RENDER_DOCUMENT = "render_document", "Render document"
        SLIM_VIDEO = "slim_video", "Slim video"

    brief = models.ForeignKey(Brief, on_delete=models.CASCADE, related_name="artifacts")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.BigIntegerField(default=0, help_text="Bytes of the file or of the document.")
    file = models.FileField(max_length=500, blank=True)
    document = models.JSONField(null=True, blank=True)
    meta = models.JSONField(default=dict, blank=True)
    step = models.CharField(max_length=100, help_text="The job type that made it.")
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="artifacts"
    )
    current = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index("brief", "step", name="artifact_brief_step_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name} of brief #{self.brief_id}"

    @property
    def is_file(self) -> bool:
        return bool(self.file)


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


class Upload(models.Model):
    """A file a user uploaded for their briefs. The stored name is ours (its kind and the format
    found in it: ``briefs/uploads/7/3f…/video.mp4``); the user's own name is kept for display.
    An upload no brief ever used is deleted after a day (``manage.py prune_uploads``)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads"
    )
    name = models.CharField(max_length=300, unique=True, help_text="The stored file's name.")
    original_name = models.CharField(max_length=200, help_text="The name the user gave it.")
    kind = models.CharField(max_length=10)
    size = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    attached_at = models.DateTimeField(
        null=True, blank=True, help_text="When a brief first used it (never: deleted in a day)."
    )

    class Meta:
        indexes = [models.Index(fields=["attached_at", "created_at"], name="upload_unattached_idx")]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.kind}, {self.size:,} bytes)"


# The spend tables (usage rows, prices, budget caps) live in their own module of this app.
from briefs.spend.models import AICall, BudgetCap, Price  # noqa: E402, F401
