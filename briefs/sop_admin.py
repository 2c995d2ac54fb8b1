"""The SOP admin: read an SOP as a document, correct it (every save a new version), compare
two versions side by side, restore one, move its review state, and export it.

Reading needs ``view_sop``; editing and restoring ``change_sop``; approving and requesting
changes ``review_sop`` (see :data:`briefs.sops.MOVES`). The export links go to the API, which
admits staff by their session.
"""

from __future__ import annotations

import difflib
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from briefs import exports, sop_forms, sops
from briefs.models import SOP
from jobs.display import admin_change_url, pretty_json, status_badge

REVIEW_BADGES: dict[str, str] = {
    SOP.ReviewState.DRAFT: "scheduled",
    SOP.ReviewState.IN_REVIEW: "running",
    SOP.ReviewState.APPROVED: "succeeded",
    SOP.ReviewState.CHANGES_REQUESTED: "failed",
}


def review_badge(sop: SOP) -> SafeString:
    return status_badge(
        REVIEW_BADGES.get(sop.review_state, "queued"), sop.get_review_state_display()
    )


def export_links(sop: SOP) -> list[tuple[str, str]]:
    return [
        (f"/api/sops/{sop.pk}/export?format={fmt}&version=latest", label)
        for fmt, (_, label) in exports.SOP_FORMATS.items()
    ]


def steps_html(data: Any, *, seek: bool = False) -> SafeString | str:
    """Numbered steps; with ``seek`` each time is a link that seeks the page's video player."""
    steps = exports.readable_steps(data if isinstance(data, dict) else {})
    if not steps:
        return "—"
    items = []
    for step in steps:
        when = (
            format_html(
                '<a href="#t={}" class="seek" data-seek="{}">{}</a>',
                step["start"],
                step["start"],
                step["when"],
            )
            if seek
            else step["when"]
        )
        actions = format_html_join("", "<li>{}</li>", ((a,) for a in step["actions"]))
        tools = f"Tools: {', '.join(step['tools'])} · " if step["tools"] else ""
        items.append(
            format_html(
                '<li><div class="sop-step-title">{}</div>{}'
                '<div class="sop-step-meta">{}at {}</div></li>',
                step["title"],
                format_html("<ul>{}</ul>", actions) if step["actions"] else "",
                tools,
                when,
            )
        )
    return format_html(
        '<ol class="sop-steps">{}</ol>', format_html_join("", "{}", ((i,) for i in items))
    )


def _step_text(step: dict[str, Any] | None) -> str:
    if step is None:
        return ""
    lines = [f"{step['title']} ({step['when']})", *(f"• {a}" for a in step["actions"])]
    if step["tools"]:
        lines.append(f"Tools: {', '.join(step['tools'])}")
    return "\n".join(lines)


def _step_key(step: dict[str, Any]) -> str:
    return " ".join(str(step["title"]).casefold().split())


def _step_pairs(old: list[dict], new: list[dict]) -> list[tuple[str, str, str]]:
    """The steps of two versions lined up by title, as a diff lines up text: a step inserted or
    removed shifts the others without marking them all changed. Within a run of steps whose
    titles differ, steps are paired by position (a renamed step is changed, not removed and
    added)."""
    pairs = []
    matcher = difflib.SequenceMatcher(
        None, [_step_key(s) for s in old], [_step_key(s) for s in new], autojunk=False
    )
    for _, i1, i2, j1, j2 in matcher.get_opcodes():
        for offset in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + offset, j1 + offset
            left = old[i] if i < i2 else None
            right = new[j] if j < j2 else None
            if left is not None and right is not None:
                label = f"Step {i + 1}" if i == j else f"Step {i + 1} → {j + 1}"
            else:
                label = f"Step {(i if left is not None else j) + 1}"
            pairs.append((label, _step_text(left), _step_text(right)))
    return pairs


def compare_rows(left: Any, right: Any) -> list[dict[str, str]]:
    """Two versions part by part (title, purpose, prerequisites, the steps lined up by title),
    each row marked same, changed, added (only on the right) or removed (only on the left)."""
    a, b = exports.sop_view(left), exports.sop_view(right)
    pairs = [
        ("Title", a["title"], b["title"]),
        ("Purpose", a["purpose"], b["purpose"]),
        ("Before you start", "\n".join(a["prerequisites"]), "\n".join(b["prerequisites"])),
        *_step_pairs(a["steps"], b["steps"]),
    ]
    rows = []
    for label, old, new in pairs:
        state = (
            "same" if old == new else "added" if not old else "removed" if not new else "changed"
        )
        rows.append({"label": label, "left": old, "right": new, "state": state})
    return rows


class SOPAdmin(admin.ModelAdmin):
    list_display = (
        "sop_title",
        "brief",
        "owner",
        "review",
        "step_count",
        "version_count",
        "created_at",
    )
    list_filter = ("review_state", ("created_at", admin.DateFieldListFilter))
    search_fields = ("brief__title", "owner__username")
    list_select_related = ("brief", "owner")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "sop_title",
                    "review",
                    "brief_link",
                    "owner",
                    "transcript_link",
                    "made_by",
                    "downloads",
                )
            },
        ),
        ("Procedure (latest version)", {"fields": ("purpose", "prerequisites", "numbered_steps")}),
        ("Versions", {"fields": ("version_table", "review_history")}),
        (
            "Raw data",
            {"fields": ("data_json", "model", "prompt_version"), "classes": ("collapse",)},
        ),
    )
    readonly_fields = (
        "sop_title",
        "review",
        "brief_link",
        "owner",
        "transcript_link",
        "made_by",
        "downloads",
        "purpose",
        "prerequisites",
        "numbered_steps",
        "version_table",
        "review_history",
        "data_json",
        "model",
        "prompt_version",
    )
    change_form_template = "admin/briefs/sop/change_form.html"

    class Media:
        css = {"all": ["jobs/admin.css"]}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the standard form has nothing to save; the editor below makes versions

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("<int:sop_id>/edit/", view(self.edit_view), name="briefs_sop_edit"),
            path("<int:sop_id>/compare/", view(self.compare_view), name="briefs_sop_compare"),
            path(
                "<int:sop_id>/restore/<int:number>/",
                view(self.restore_view),
                name="briefs_sop_restore",
            ),
            path("<int:sop_id>/review/", view(self.review_view), name="briefs_sop_review"),
            *super().get_urls(),
        ]

    # --- pages ---------------------------------------------------------------------------

    def render_change_form(self, request: HttpRequest, context: dict, *args: Any, **kwargs: Any):
        sop = context.get("original")
        if sop is not None:
            context["can_edit"] = request.user.has_perm("briefs.change_sop")
            context["review_moves"] = [
                (name, sops.MOVES[name]) for name in sops.allowed_moves(sop, request.user)
            ]
        return super().render_change_form(request, context, *args, **kwargs)

    def _sop(self, request: HttpRequest, sop_id: int, permission: str = "view_sop") -> SOP:
        sop = get_object_or_404(SOP.objects.select_related("brief", "owner"), pk=sop_id)
        if not request.user.has_perm(f"briefs.{permission}"):
            raise PermissionDenied(f"You need briefs.{permission}.")
        return sop

    def edit_view(self, request: HttpRequest, sop_id: int) -> HttpResponse:
        sop = self._sop(request, sop_id, "change_sop")
        latest = sops.latest_version(sop)
        head_initial, steps_initial = sop_forms.initial_from(latest.data)
        problem = ""
        if request.method == "POST":
            head = sop_forms.SOPHeadForm(request.POST, prefix="sop")
            steps = sop_forms.StepFormSet(request.POST, prefix="steps", initial=steps_initial)
            if head.is_valid() and steps.is_valid():
                try:
                    version = sops.sop_save_version(
                        sop=sop, data=sop_forms.data_from(head, steps), author=request.user
                    )
                except sops.SOPError as exc:
                    problem = str(exc)
                else:
                    self.message_user(
                        request, f"Saved as version {version.number} (draft).", messages.SUCCESS
                    )
                    return HttpResponseRedirect(admin_change_url(sop))
            else:
                problem = "Please correct the errors below."
        else:
            head = sop_forms.SOPHeadForm(initial=head_initial, prefix="sop")
            steps = sop_forms.StepFormSet(initial=steps_initial, prefix="steps")
        return TemplateResponse(
            request,
            "admin/briefs/sop/edit.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": sop,
                "title": f"Edit {sop.title}",
                "head": head,
                "steps": steps,
                "problem": problem,
                "version": latest,
            },
        )

    def compare_view(self, request: HttpRequest, sop_id: int) -> HttpResponse:
        sop = self._sop(request, sop_id)
        versions = list(sop.versions.order_by("number")) or [sops.latest_version(sop)]
        numbers = [v.number for v in versions]

        def pick(name: str, default: int) -> int:
            raw = request.GET.get(name, "")
            return int(raw) if raw.isdigit() and int(raw) in numbers else default

        left = pick("a", numbers[-2] if len(numbers) > 1 else numbers[0])
        right = pick("b", numbers[-1])
        by_number = {v.number: v for v in versions}
        return TemplateResponse(
            request,
            "admin/briefs/sop/compare.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": sop,
                "title": f"Compare versions of {sop.title}",
                "versions": versions,
                "left": left,
                "right": right,
                "rows": compare_rows(by_number[left].data, by_number[right].data),
            },
        )

    def restore_view(self, request: HttpRequest, sop_id: int, number: int) -> HttpResponse:
        return _restore(
            request, modeladmin=self, sop=self._sop(request, sop_id, "change_sop"), number=number
        )

    def review_view(self, request: HttpRequest, sop_id: int) -> HttpResponse:
        return _review(request, modeladmin=self, sop=self._sop(request, sop_id))

    # --- fields --------------------------------------------------------------------------

    @admin.display(description="title")
    def sop_title(self, sop: SOP) -> str:
        return sop.title

    @admin.display(description="review", ordering="review_state")
    def review(self, sop: SOP) -> str:
        approved = (
            f" · approved: version {sop.approved_version.number}" if sop.approved_version else ""
        )
        return format_html("{}{}", review_badge(sop), approved)

    @admin.display(description="steps")
    def step_count(self, sop: SOP) -> int:
        return len(sop.steps)

    @admin.display(description="versions")
    def version_count(self, sop: SOP) -> int:
        return sop.versions.count() or 1

    @admin.display(description="made by job")
    def made_by(self, sop: SOP) -> str:
        if sop.job_id is None:
            return "—"
        return format_html(
            '<a href="{}">#{}</a>', reverse("admin:jobs_job_change", args=[sop.job_id]), sop.job_id
        )

    @admin.display(description="brief")
    def brief_link(self, sop: SOP) -> str:
        return format_html('<a href="{}">{}</a>', admin_change_url(sop.brief), sop.brief)

    @admin.display(description="transcript")
    def transcript_link(self, sop: SOP) -> str:
        if sop.transcript is None:
            return "—"
        return format_html(
            '<a href="{}">Transcript #{}</a>', admin_change_url(sop.transcript), sop.transcript.pk
        )

    @admin.display(description="download")
    def downloads(self, sop: SOP) -> str:
        return format_html_join(" · ", '<a href="{}" class="sop-export">{}</a>', export_links(sop))

    @admin.display(description="purpose")
    def purpose(self, sop: SOP) -> str:
        return exports.sop_view(sop.data)["purpose"] or "—"

    @admin.display(description="before you start")
    def prerequisites(self, sop: SOP) -> str:
        items = exports.sop_view(sop.data)["prerequisites"]
        if not items:
            return "—"
        return format_html(
            '<ul class="sop-list">{}</ul>',
            format_html_join("", "<li>{}</li>", ((i,) for i in items)),
        )

    @admin.display(description="steps")
    def numbered_steps(self, sop: SOP) -> str:
        return steps_html(sop.data)

    @admin.display(description="versions")
    def version_table(self, sop: SOP) -> str:
        versions = list(sop.versions.select_related("author").order_by("-number")) or [
            sops.latest_version(sop)
        ]
        compare = reverse("admin:briefs_sop_compare", args=[sop.pk])
        rows = []
        for version in versions:
            source = version.get_source_display()
            if version.restored_from:
                source += f" of version {version.restored_from}"
            rows.append(
                (
                    version.number,
                    sops.state_of(sop, version).replace("_", " "),
                    source,
                    version.author or "—",
                    f"{version.created_at:%Y-%m-%d %H:%M:%S}" if version.created_at else "—",
                    f"{compare}?a={version.number}&b={versions[0].number}",
                )
            )
        return format_html(
            '<table class="sop-versions"><thead><tr><th>version</th><th>state</th><th>made by</th>'
            "<th>who</th><th>when (UTC)</th><th></th></tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                '<td><a href="{}">compare with latest</a></td></tr>',
                rows,
            ),
        )

    @admin.display(description="review history")
    def review_history(self, sop: SOP) -> str:
        reviews = list(sop.reviews.select_related("by", "version").order_by("-at", "-id")[:50])
        if not reviews:
            return "—"
        rows = [
            (
                f"{r.at:%Y-%m-%d %H:%M:%S}",
                r.by or "—",
                r.get_from_state_display(),
                r.get_to_state_display(),
                r.version.number,
                r.comment or "—",
            )
            for r in reviews
        ]
        return format_html(
            '<table class="sop-reviews"><thead><tr><th>when (UTC)</th><th>who</th><th>from</th>'
            "<th>to</th><th>version</th><th>comment</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                rows,
            ),
        )

    @admin.display(description="data (JSON)")
    def data_json(self, sop: SOP) -> str:
        return pretty_json(sop.data)


@require_POST
def _restore(request: HttpRequest, *, modeladmin: SOPAdmin, sop: SOP, number: int) -> HttpResponse:
    try:
        version = sops.sop_restore(sop=sop, number=number, author=request.user)
    except sops.SOPError as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
    else:
        modeladmin.message_user(
            request,
            f"Version {number} restored as version {version.number} (draft).",
            messages.SUCCESS,
        )
    return HttpResponseRedirect(admin_change_url(sop))


@require_POST
def _review(request: HttpRequest, *, modeladmin: SOPAdmin, sop: SOP) -> HttpResponse:
    move = request.POST.get("move", "")
    try:
        review = sops.sop_move(
            sop=sop, move=move, by=request.user, comment=request.POST.get("comment", "")
        )
    except sops.SOPError as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
    else:
        modeladmin.message_user(
            request, f"The SOP is now {review.get_to_state_display().lower()}.", messages.SUCCESS
        )
    return HttpResponseRedirect(admin_change_url(sop))
