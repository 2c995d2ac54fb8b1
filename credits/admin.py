"""Credit balances in the admin: each account's ledger, and a form to grant credits."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from credits import services
from credits.models import CreditAccount
from jobs.display import since

LEDGER_ROWS = 50
GRANT_LIMIT = 1_000_000


def _grant_permission() -> str:
    opts = CreditAccount._meta
    return f"{opts.app_label}.change_{opts.model_name}"


def _url_name(suffix: str) -> str:
    opts = CreditAccount._meta
    return f"{opts.app_label}_{opts.model_name}_{suffix}"


@admin.register(CreditAccount)
class CreditAccountAdmin(admin.ModelAdmin):
    """Balances and their ledger. A balance only changes through the credit services (always
    with a ledger line), never by editing the number."""

    list_display = ("user", "balance", "updated_at")
    search_fields = ("user__username", "user__email")
    list_select_related = ("user",)
    ordering = ("user__username",)
    fields = ("user", "balance", "updated_at", "ledger")
    readonly_fields = fields
    # The change form is admin/<app_label>/creditaccount/change_form.html (Django's own lookup).

    class Media:
        css = {"all": ["jobs/admin.css"]}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # an account opens with its owner's first paid job

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # read-only here; credits are granted with the form on the page

    def get_urls(self) -> list[Any]:
        urls = [
            path(
                "<int:object_id>/grant/",
                self.admin_site.admin_view(self.grant_view),
                name=_url_name("grant"),
            )
        ]
        return urls + super().get_urls()

    def grant_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        return _grant_post(request, modeladmin=self, object_id=object_id)

    def render_change_form(self, request: HttpRequest, context: dict, *args: Any, **kwargs: Any):
        account = context.get("original")
        context["can_grant"] = request.user.has_perm(_grant_permission())
        if account is not None:
            context["grant_url"] = reverse(f"admin:{_url_name('grant')}", args=[account.pk])
        return super().render_change_form(request, context, *args, **kwargs)

    @admin.display(description=f"ledger (latest {LEDGER_ROWS})")
    def ledger(self, account: CreditAccount) -> str:
        entries = account.entries.select_related("job")[:LEDGER_ROWS]
        if not entries:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td class='num'>{}</td><td class='num'>{}</td>"
            "<td>{}</td><td>{}</td></tr>",
            (
                (
                    since(entry.created_at),
                    entry.get_kind_display(),
                    f"{entry.delta:+d}",
                    entry.balance_after,
                    format_html(
                        '<a href="{}">#{} {}</a>',
                        reverse("admin:jobs_job_change", args=[entry.job_id]),
                        entry.job_id,
                        entry.job_type,
                    )
                    if entry.job_id
                    else entry.job_type or "—",
                    entry.note or "—",
                )
                for entry in entries
            ),
        )
        return format_html(
            '<table class="credit-ledger"><thead><tr><th>When</th><th>What</th>'
            '<th class="num">Change</th><th class="num">Balance</th><th>Job</th><th>Note</th>'
            "</tr></thead><tbody>{}</tbody></table>",
            rows,
        )


@require_POST
def _grant_post(
    request: HttpRequest, *, modeladmin: CreditAccountAdmin, object_id: int
) -> HttpResponse:
    account = get_object_or_404(CreditAccount.objects.select_related("user"), pk=object_id)
    if not request.user.has_perm(_grant_permission()):
        raise PermissionDenied("You may not grant credits.")
    back = HttpResponseRedirect(reverse(f"admin:{_url_name('change')}", args=[account.pk]))
    raw = request.POST.get("amount", "").strip()
    if not raw.isdigit() or not 0 < int(raw) <= GRANT_LIMIT:
        modeladmin.message_user(
            request,
            f"Give a whole number of credits from 1 to {GRANT_LIMIT:,}, not {raw!r}.",
            messages.ERROR,
        )
        return back
    note = request.POST.get("note", "").strip() or f"Granted by {request.user}"
    balance = services.grant(account.user, int(raw), note=note)
    modeladmin.message_user(
        request,
        f"Granted {int(raw)} credits to {account.user}; the balance is {balance}.",
        messages.SUCCESS,
    )
    return back
