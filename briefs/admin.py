"""The briefs admin: a brief with its jobs (its link rows, which outlive pruned jobs) and its
outputs, the actions that start its work, and transcripts and SOPs shown as documents
(timestamped lines, numbered steps), not as raw JSON."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from briefs import brief_page
from briefs.brief_forms import BriefForm
from briefs.exceptions import BriefError
from briefs.exports import TRANSCRIPT_FORMATS
from briefs.models import SOP, Artifact, Brief, BriefJob, Transcript, format_segment
from briefs.services import brief_set_assets, brief_start, brief_start_sop
from briefs.sop_admin import SOPAdmin
from jobs.display import admin_change_url, duration_text, job_badge, pretty_json, status_badge
from jobs.exceptions import JobError

BRIEF_BADGES: dict[str, str] = {
    Brief.Status.DRAFT: "scheduled",
    Brief.Status.PROCESSING: "running",
    Brief.Status.COMPLETED: "succeeded",
    Brief.Status.FAILED: "failed",
}

# What each start button does: (label, service call).
STARTS = {
    "pipeline": ("Start pipeline", lambda brief: brief_start(brief=brief, use_pipeline=True)),
    "sop": ("Make SOP", lambda brief: brief_start_sop(brief=brief)),
}


def brief_badge(brief: Brief) -> SafeString:
    return status_badge(BRIEF_BADGES.get(brief.status, "queued"), brief.get_status_display())


def _start(modeladmin: admin.ModelAdmin, request: HttpRequest, briefs: list[Brief], kind: str):
    """Start the work of each brief through the services; report what started and why not."""
    label, start = STARTS[kind]
    started: list[str] = []
    refused: list[str] = []
    for brief in briefs:
        try:
            jobs = start(brief)
        except (BriefError, JobError) as exc:
            refused.append(f"“{brief}”: {exc}")
        else:
            started.append(f"“{brief}” ({len(jobs)} jobs, first #{jobs[0].pk})")
    if started:
        modeladmin.message_user(
            request, f"{label}: started {'; '.join(started)}.", messages.SUCCESS
        )
    if refused:
        modeladmin.message_user(
            request, f"{label}: not started {'; '.join(refused)}", messages.ERROR
        )


@admin.action(permissions=["change"], description="Start pipeline (all steps of its media type)")
def start_pipeline(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Brief]):
    _start(modeladmin, request, list(queryset[:100]), "pipeline")


@admin.action(permissions=["change"], description="Make an SOP from the brief's video")
def start_sop(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Brief]):
    _start(modeladmin, request, list(queryset[:100]), "sop")


LINK_BADGES: dict[str, str] = {
    BriefJob.Status.QUEUED: "queued",
    BriefJob.Status.RUNNING: "running",
    BriefJob.Status.SUCCEEDED: "succeeded",
    BriefJob.Status.FAILED: "failed",
    BriefJob.Status.CANCELLED: "cancelled",
}


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class JobLinkInline(ReadOnlyInline):
    """The brief's jobs as its link rows: the status stays when the job row is pruned."""

    model = BriefJob
    fields = (
        "step",
        "job_type",
        "badge",
        "job_link",
        "progress_text",
        "attempts_text",
        "error_text",
        "took",
    )
    readonly_fields = fields
    ordering = ("id",)
    verbose_name = "job"
    verbose_name_plural = "jobs"

    def get_queryset(self, request: HttpRequest) -> QuerySet[BriefJob]:
        return super().get_queryset(request).select_related("job")

    @admin.display(description="job")
    def job_link(self, link: BriefJob) -> str:
        if link.job_id is None:
            return "deleted"
        return format_html(
            '<a href="{}">#{}</a>',
            reverse("admin:jobs_job_change", args=[link.job_id]),
            link.job_id,
        )

    @admin.display(description="status")
    def badge(self, link: BriefJob) -> str:
        if link.job is not None:
            return job_badge(link.job)
        return status_badge(LINK_BADGES.get(link.status, "queued"), link.get_status_display())

    @admin.display(description="progress")
    def progress_text(self, link: BriefJob) -> str:
        if link.job is None:
            return "—"
        step = f" · {link.job.current_step}" if link.job.current_step else ""
        return f"{link.job.progress}%{step}"

    @admin.display(description="attempts")
    def attempts_text(self, link: BriefJob) -> str:
        return f"{link.job.attempts}/{link.job.max_attempts}" if link.job is not None else "—"

    @admin.display(description="error")
    def error_text(self, link: BriefJob) -> str:
        return Truncator(link.error).chars(160) if link.error else "—"

    @admin.display(description="took")
    def took(self, link: BriefJob) -> str:
        return duration_text(link.job.duration) if link.job is not None else "—"


class ArtifactInline(ReadOnlyInline):
    """What the brief's steps made (current outputs; a re-run supersedes the earlier ones)."""

    model = Artifact
    fields = ("kind", "download", "content_type", "size_text", "step", "made_by", "created_at")
    readonly_fields = fields
    ordering = ("id",)
    verbose_name = "output"
    verbose_name_plural = "outputs"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Artifact]:
        return super().get_queryset(request).filter(current=True)

    @admin.display(description="name")
    def download(self, artifact: Artifact) -> str:
        # The API's download view checks access (owner or staff) and serves file or document.
        url = reverse("api:download_output", kwargs={"artifact_id": artifact.pk})
        return format_html('<a href="{}">{}</a>', url, artifact.name)

    @admin.display(description="size")
    def size_text(self, artifact: Artifact) -> str:
        return filesizeformat(artifact.size)

    @admin.display(description="made by")
    def made_by(self, artifact: Artifact) -> str:
        return _made_by(artifact.job_id)


ADMIN_CSS = {"all": ["jobs/admin.css"]}


@admin.register(Brief)
class BriefAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "status_badge",
        "media_type",
        "owner",
        "outputs",
        "created_at",
    )
    list_filter = ("status", "media_type", ("created_at", admin.DateFieldListFilter))
    search_fields = ("title", "query", "owner__username", "owner__email")
    date_hierarchy = "created_at"
    list_select_related = ("owner",)
    show_full_result_count = False
    actions = (start_pipeline, start_sop)
    inlines = (JobLinkInline, ArtifactInline)
    raw_id_fields = ("owner",)
    form = BriefForm
    readonly_fields = (
        "status_badge",
        "failure",
        "outputs",
        "ai_cost",
        "asset_list",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "title",
                    "owner",
                    "media_type",
                    "status_badge",
                    "failure",
                    "outputs",
                    "ai_cost",
                )
            },
        ),
        ("What was asked", {"fields": ("query", "description")}),
        ("Assets", {"fields": ("asset_list", "uploads", "upload_kind", "remove_assets")}),
        ("Dates", {"fields": ("created_at", "updated_at")}),
    )
    change_form_template = "admin/briefs/brief/change_form.html"

    class Media:
        css = ADMIN_CSS

    def get_urls(self) -> list[Any]:
        urls = [
            path(
                "<int:object_id>/start/<slug:kind>/",
                self.admin_site.admin_view(self.start_view),
                name="briefs_brief_start",
            )
        ]
        return urls + super().get_urls()

    def start_view(self, request: HttpRequest, object_id: int, kind: str) -> HttpResponse:
        return _start_one(request, modeladmin=self, object_id=object_id, kind=kind)

    def render_change_form(self, request: HttpRequest, context: dict, *args: Any, **kwargs: Any):
        brief = context.get("original")
        if brief is not None and self.has_change_permission(request, brief):
            context["brief_starts"] = [(kind, label) for kind, (label, _) in STARTS.items()]
        if brief is not None:
            context["brief_results"] = brief_page.context(brief)
        return super().render_change_form(request, context, *args, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not obj.assets:  # nothing to remove
            return [
                (name, {**opts, "fields": [f for f in opts["fields"] if f != "remove_assets"]})
                for name, opts in fieldsets
            ]
        return fieldsets

    def save_model(self, request: HttpRequest, obj: Brief, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            assets = form.new_assets(obj)
            if assets != obj.assets:
                brief_set_assets(brief=obj, assets=assets)

    @admin.display(description="assets")
    def asset_list(self, brief: Brief) -> str:
        assets = [a for a in brief.assets or [] if isinstance(a, dict)]
        if not assets:
            return "No assets yet."
        return format_html(
            '<ul class="sop-list">{}</ul>',
            format_html_join(
                "",
                "<li>{}: {}</li>",
                (
                    (a.get("kind", "?"), a.get("name") or a.get("url") or a.get("file"))
                    for a in assets
                ),
            ),
        )

    @admin.display(description="status")
    def status_badge(self, brief: Brief) -> str:
        return brief_badge(brief) if brief.pk else "—"

    @admin.display(description="AI usage and cost")
    def ai_cost(self, brief: Brief) -> str:
        from briefs.spend.admin import usage_table
        from briefs.spend.selectors import for_brief

        if not brief.pk:
            return "—"
        return usage_table(for_brief(brief.pk) | {"filter": f"brief__id__exact={brief.pk}"})

    @admin.display(description="why it failed")
    def failure(self, brief: Brief) -> str:
        return (brief.failure_reason or "—") if brief.pk else "—"

    @admin.display(description="transcript and SOP")
    def outputs(self, brief: Brief) -> str:
        if not brief.pk:
            return "—"
        links = []
        transcript = brief.transcripts.order_by("-created_at", "-id").first()
        if transcript is not None:
            links.append((admin_change_url(transcript), f"Transcript #{transcript.pk}"))
        sop = brief.sops.order_by("-created_at", "-id").first()
        if sop is not None:
            links.append((admin_change_url(sop), f"SOP: {Truncator(sop.title).chars(40)}"))
        if not links:
            return "—"
        return format_html_join(" · ", '<a href="{}">{}</a>', links)


@require_POST
def _start_one(
    request: HttpRequest, *, modeladmin: BriefAdmin, object_id: int, kind: str
) -> HttpResponse:
    brief = get_object_or_404(Brief, pk=object_id)
    if kind not in STARTS:
        raise PermissionDenied(f"Unknown start {kind!r}.")
    if not modeladmin.has_change_permission(request, brief):
        raise PermissionDenied("You may not start a brief's work.")
    _start(modeladmin, request, [brief], kind)
    return HttpResponseRedirect(reverse("admin:briefs_brief_change", args=[brief.pk]))


class ReadOnlyAdmin(admin.ModelAdmin):
    """Made by jobs, read by people: no adding or editing here."""

    class Media:
        css = ADMIN_CSS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _made_by(job_id: int | None) -> str:
    if job_id is None:
        return "—"
    return format_html(
        '<a href="{}">#{}</a>', reverse("admin:jobs_job_change", args=[job_id]), job_id
    )


@admin.register(Transcript)
class TranscriptAdmin(ReadOnlyAdmin):
    list_display = ("id", "brief", "language", "segment_count", "model", "made_by", "created_at")
    list_filter = ("language", ("created_at", admin.DateFieldListFilter))
    search_fields = ("brief__title",)
    list_select_related = ("brief",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "brief_link",
                    "language",
                    "model",
                    "prompt_version",
                    "made_by",
                    "downloads",
                )
            },
        ),
        ("Transcript", {"fields": ("readable",)}),
        ("Raw data", {"fields": ("segments_json",), "classes": ("collapse",)}),
    )
    readonly_fields = (
        "brief_link",
        "language",
        "model",
        "prompt_version",
        "made_by",
        "downloads",
        "readable",
        "segments_json",
    )

    @admin.display(description="download")
    def downloads(self, transcript: Transcript) -> str:
        links = [
            (f"/api/transcripts/{transcript.pk}/export?format={fmt}", label)
            for fmt, (_, label) in TRANSCRIPT_FORMATS.items()
        ]
        return format_html_join(" · ", '<a href="{}" class="transcript-export">{}</a>', links)

    @admin.display(description="segments")
    def segment_count(self, transcript: Transcript) -> int:
        return len(transcript.segments or [])

    @admin.display(description="made by job")
    def made_by(self, transcript: Transcript) -> str:
        return _made_by(transcript.job_id)

    @admin.display(description="brief")
    def brief_link(self, transcript: Transcript) -> str:
        return format_html(
            '<a href="{}">{}</a>', admin_change_url(transcript.brief), transcript.brief
        )

    @admin.display(description="what is said and shown")
    def readable(self, transcript: Transcript) -> str:
        segments = [s for s in transcript.segments or [] if isinstance(s, dict)]
        if not segments:
            return "—"
        rows = []
        for segment in segments:
            line = format_segment(segment)
            stamp, _, rest = line.partition("] ")
            kind = str(segment.get("kind", "speech"))
            rows.append((stamp.lstrip("["), kind, str(segment.get("text", "")) or rest))
        return format_html(
            '<table class="transcript-segments"><tbody>{}</tbody></table>',
            format_html_join(
                "",
                '<tr><td class="ts">{}</td><td class="kind">{}</td><td>{}</td></tr>',
                rows,
            ),
        )

    @admin.display(description="segments (JSON)")
    def segments_json(self, transcript: Transcript) -> str:
        return pretty_json(transcript.segments)


admin.site.register(SOP, SOPAdmin)


from briefs.spend import admin as spend_admin  # noqa: E402, F401 - registers the spend pages
