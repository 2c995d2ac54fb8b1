"""Every URL of the app, tried as anonymous, as a normal user (the owner of the objects in the
URL), as another user and as staff, answers as DEVELOPERS.md and docs/api.md say:

- the API: anonymous 401; another user's objects 404, exactly like missing ones; staff-only
  operations 403 for users; staff see everything;
- staff pages (the admin and /test-worker): anonymous users go to the admin login; logged-in
  non-staff users go to the login too (the admin) or get 403 (/test-worker); staff get the page;
- public: /api/health (and its alias), the schema and the docs.

The table is checked against the URL resolver: a URL added without an access rule fails
``test_every_url_has_an_access_rule``. The admin's standard pages of every registered model get
their rule from the admin's registry, so a new model is covered (it needs an object in
``OBJECTS``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver

from api.models import ApiToken
from briefs.models import SOP, AICall, Artifact, Brief, BudgetCap, Price, Transcript
from credits.models import CreditAccount
from jobs.controls import Queue, Schedule
from jobs.models import Job
from jobs.models import Worker as WorkerRow
from jobs.services import enqueue

ROLES = ("anonymous", "user", "other", "staff")
LOGIN = "login"  # a redirect to the admin's login page
WEBHOOK_SECRET = "access-test-secret-0123456789abcdef"


@dataclass(frozen=True)
class Rule:
    method: str
    path: str  # with {job}, {brief}, {transcript}, {sop}, {token}, {worker}, {user}, {group}
    expect: dict[str, int | str | tuple[int, ...]]
    body: Any = None


def same(status: Any) -> dict[str, Any]:
    return dict.fromkeys(ROLES, status)


def staff_page(status: int | tuple[int, ...] = 200, non_staff: Any = LOGIN) -> dict[str, Any]:
    return {"anonymous": LOGIN, "user": non_staff, "other": non_staff, "staff": status}


def api(user: Any, other: Any = None, staff: Any = None) -> dict[str, Any]:
    """Anonymous 401; ``other`` defaults to what the owner gets (nothing of anyone's in the
    URL), ``staff`` likewise."""
    other = user if other is None else other
    return {
        "anonymous": 401,
        "user": user,
        "other": other,
        "staff": user if staff is None else staff,
    }


DASHBOARD = staff_page(200, non_staff=403)
JOB_PANEL = staff_page((200, 302), non_staff=403)

#: Explicit rules, keyed by URL name (or route, for unnamed URLs).
RULES: dict[str, Rule] = {
    # The admin's own pages.
    "admin:index": Rule("GET", "/admin/", staff_page()),
    "admin:login": Rule("GET", "/admin/login/", {**same(200), "staff": 302}),
    "admin:logout": Rule("POST", "/admin/logout/", same((200, 302))),
    "admin:password_change": Rule("GET", "/admin/password_change/", staff_page()),
    "admin:password_change_done": Rule("GET", "/admin/password_change/done/", staff_page()),
    "admin:autocomplete": Rule("GET", "/admin/autocomplete/", staff_page(403)),
    "admin:jsi18n": Rule("GET", "/admin/jsi18n/", staff_page()),
    "admin:view_on_site": Rule("GET", "/admin/r/{job_content_type}/{job}/", staff_page(404)),
    "admin:app_list": Rule("GET", "/admin/jobs/", staff_page()),
    "admin/(?P<url>.*)$": Rule("GET", "/admin/no-such-page/", staff_page(404)),
    "admin:auth_user_password_change": Rule(
        "GET", "/admin/auth/user/{user}/password/", staff_page()
    ),
    "admin:jobs_job_object_action": Rule(
        "POST", "/admin/jobs/job/{job}/do/cancel/", staff_page(302)
    ),
    "admin:credits_creditaccount_grant": Rule(
        "POST",
        "/admin/credits/creditaccount/{credit}/grant/",
        staff_page(302),
        body={"amount": "5"},
    ),
    "admin:briefs_brief_start": Rule(
        "POST", "/admin/briefs/brief/{brief}/start/pipeline/", staff_page(302)
    ),
    "admin:briefs_sop_edit": Rule("GET", "/admin/briefs/sop/{sop}/edit/", staff_page()),
    "admin:briefs_sop_compare": Rule("GET", "/admin/briefs/sop/{sop}/compare/", staff_page()),
    "admin:briefs_sop_restore": Rule("POST", "/admin/briefs/sop/{sop}/restore/1/", staff_page(302)),
    "admin:briefs_sop_review": Rule(
        "POST", "/admin/briefs/sop/{sop}/review/", staff_page(302), body={"move": "submit"}
    ),
    # The live dashboard: non-staff users get 403.
    "jobs:dashboard": Rule("GET", "/test-worker/", DASHBOARD),
    "jobs:overview": Rule("GET", "/test-worker/overview/", DASHBOARD),
    "jobs:queues": Rule("GET", "/test-worker/queues/", DASHBOARD),
    "jobs:chart": Rule("GET", "/test-worker/chart/", DASHBOARD),
    "jobs:active": Rule("GET", "/test-worker/active/", DASHBOARD),
    "jobs:pending": Rule("GET", "/test-worker/pending/", DASHBOARD),
    "jobs:workers": Rule("GET", "/test-worker/workers/", DASHBOARD),
    "jobs:failures": Rule("GET", "/test-worker/failures/", DASHBOARD),
    # Staff enqueue test work; without htmx they go back to the dashboard.
    "jobs:enqueue": Rule(
        "POST",
        "/test-worker/enqueue/",
        staff_page(302, non_staff=403),
        body={"type": "noop", "payload": "{}", "count": "1", "priority": "0"},
    ),
    # Without htmx, a job's panel and its buttons lead back to the dashboard with it open.
    "jobs:job_detail": Rule("GET", "/test-worker/jobs/{job}/", JOB_PANEL),
    "jobs:job_requeue": Rule("POST", "/test-worker/jobs/{failed_job}/requeue/", JOB_PANEL),
    "jobs:job_cancel": Rule("POST", "/test-worker/jobs/{job}/cancel/", JOB_PANEL),
    # The operator's pages and buttons (issue 12): staff only, each change its permission.
    "jobs:queue": Rule("GET", "/test-worker/queues/ai/", DASHBOARD),
    "jobs:queue_control": Rule(
        "POST", "/test-worker/queues/ai/pause/", staff_page(302, non_staff=403)
    ),
    "jobs:types": Rule("GET", "/test-worker/types/", DASHBOARD),
    "jobs:schedules": Rule("GET", "/test-worker/schedules/", DASHBOARD),
    "jobs:schedule_run_now": Rule(
        "POST", "/test-worker/schedules/{schedule}/run/", staff_page(302, non_staff=403)
    ),
    "jobs:bulk": Rule("GET", "/test-worker/bulk/", DASHBOARD),
    "jobs:worker_command": Rule(
        "POST", "/test-worker/workers/{worker}/quiet/", staff_page(302, non_staff=403)
    ),
    "admin:jobs_queue_bulk": Rule("GET", "/admin/jobs/queue/bulk/", staff_page()),
    "api:list_queues": Rule("GET", "/api/queues", api(403, 403, 200)),
    "api:pause_queue": Rule("POST", "/api/queues/ai/pause", api(403, 403, 200), body={}),
    "api:resume_queue": Rule("POST", "/api/queues/ai/resume", api(403, 403, 200)),
    "api:release_queue": Rule("POST", "/api/queues/ai/release", api(403, 403, 200)),
    "api:set_limits": Rule(
        "PUT", "/api/queues/ai/limits", api(403, 403, 200), body={"concurrency": 2}
    ),
    # The API.
    "api:openapi-json": Rule("GET", "/api/openapi.json", same(200)),
    "api:openapi-view": Rule("GET", "/api/docs", same(200)),
    "api:api-root": Rule("GET", "/api/", same(404)),
    "^api/(?P<rest>.*)$": Rule("GET", "/api/no/such/endpoint", same(404)),
    "api:health": Rule("GET", "/api/health", same(200)),
    "api:health_alias": Rule("GET", "/api/jobs/health", same(200)),
    "api:list_jobs": Rule("GET", "/api/jobs", api(200)),
    "api:get_job": Rule("GET", "/api/jobs/{job}", api(200, 404)),
    "api:get_job_of_type": Rule("GET", "/api/jobs/noop/status/{job}", api(200, 404)),
    "api:start_job": Rule("POST", "/api/jobs/test_echo/start", api(202), body={}),
    "api:cancel_job": Rule("POST", "/api/jobs/{job}/cancel", api(200, 404)),
    # Staff only: others are refused before the job is even looked up.
    "api:requeue_job": Rule("POST", "/api/jobs/{failed_job}/requeue", api(403, 403, 200)),
    "api:list_briefs": Rule("GET", "/api/briefs", api(200)),
    "api:create_brief": Rule(
        "POST", "/api/briefs", api(201), body={"title": "T", "query": "Q", "media_type": "text"}
    ),
    "api:integrate_brief": Rule(
        "POST", "/api/briefs/integrate", api(202, 404), body={"brief_id": "{brief}"}
    ),
    "api:get_brief": Rule("GET", "/api/briefs/{brief}", api(200, 404)),
    "api:start_sop": Rule("POST", "/api/briefs/{brief}/sop", api(409, 404)),  # not a video
    "api:upload": Rule("POST", "/api/uploads", api(422)),
    "api:get_transcript": Rule("GET", "/api/transcripts/{transcript}", api(200, 404)),
    "api:get_sop": Rule("GET", "/api/sops/{sop}", api(200, 404)),
    # Usage: a user's own; the CSV export is for staff.
    "api:usage": Rule("GET", "/api/usage", api(200)),
    "api:usage_export": Rule("GET", "/api/usage/export.csv", api(403, 403, 200)),
    # The spend panel of the dashboard: staff (others go to the admin login).
    "briefs:spend_panel": Rule("GET", "/spend/panel/", staff_page()),
    "api:download_asset": Rule("GET", "/api/briefs/{brief}/assets/0/download", api(200, 404)),
    "api:export_sop": Rule("GET", "/api/sops/{sop}/export?format=pdf", api(200, 404)),
    "api:export_transcript": Rule(
        "GET", "/api/transcripts/{transcript}/export?format=vtt", api(200, 404)
    ),
    "api:download_output": Rule("GET", "/api/outputs/{artifact}/download", api(200, 404)),
    # Only the webhook secret opens the cron endpoint; no token or session does.
    "api:process_jobs": Rule("POST", "/api/cron/process-jobs", same(401), body={}),
    # Metrics: staff (or the METRICS_TOKEN, not set here).
    "metrics": Rule("GET", "/metrics", {"anonymous": 401, "user": 403, "other": 403, "staff": 200}),
}

#: One object of each model registered in the admin (owned by the "user" role where it has an
#: owner), made by ``objects`` below. A model added to the admin needs one here.
OBJECTS = (
    "group",
    "user",
    "job",
    "worker",
    "credit",
    "brief",
    "transcript",
    "sop",
    "token",
    "aicall",
    "price",
    "budgetcap",
    "queue",
    "schedule",
)
MODEL_OBJECTS = {
    "auth.group": "group",
    "auth.user": "user",
    "jobs.job": "job",
    "jobs.worker": "worker",
    "credits.creditaccount": "credit",
    "jobs.queue": "queue",
    "jobs.schedule": "schedule",
    "briefs.brief": "brief",
    "briefs.transcript": "transcript",
    "briefs.sop": "sop",
    "api.apitoken": "token",
    "briefs.aicall": "aicall",
    "briefs.price": "price",
    "briefs.budgetcap": "budgetcap",
}


#: A superuser, for asking each ModelAdmin whether its add page exists (no database needed).
SUPERUSER_REQUEST = RequestFactory().get("/admin/")
SUPERUSER_REQUEST.user = get_user_model()(is_superuser=True, is_staff=True, is_active=True)


def admin_rules() -> dict[str, Rule]:
    """The standard admin pages of every registered model: staff only."""
    rules: dict[str, Rule] = {}
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        obj = "{" + MODEL_OBJECTS.get(label, label) + "}"
        can_add = model_admin.has_add_permission(SUPERUSER_REQUEST)
        can_delete = model_admin.has_delete_permission(SUPERUSER_REQUEST)
        rules |= {
            f"{name}_changelist": Rule("GET", base, staff_page()),
            f"{name}_add": Rule("GET", base + "add/", staff_page(200 if can_add else 403)),
            f"{name}_history": Rule("GET", f"{base}{obj}/history/", staff_page()),
            f"{name}_delete": Rule(
                "GET", f"{base}{obj}/delete/", staff_page(200 if can_delete else 403)
            ),
            f"{name}_change": Rule("GET", f"{base}{obj}/change/", staff_page()),
            f"{base}<path:object_id>/": Rule("GET", f"{base}{obj}/", staff_page(302)),
        }
    return rules


def all_rules() -> dict[str, Rule]:
    return admin_rules() | RULES


def url_keys() -> Iterator[str]:
    """Every URL pattern of the project: its name, or its route when it has none."""

    def walk(patterns: list[Any], prefix: str, namespace: str) -> Iterator[str]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                if pattern.name:
                    yield namespace + pattern.name
                elif route.startswith("admin/") and route.endswith("<path:object_id>/"):
                    yield "/" + route  # the admin's redirect from an object to its change page
                else:
                    yield route

    yield from walk(get_resolver().url_patterns, "", "")


def test_every_url_has_an_access_rule():
    keys = set(url_keys())
    rules = set(all_rules())
    assert keys - rules == set(), "URLs without an access rule: add them to RULES"
    assert rules - keys == set(), "rules for URLs that no longer exist"


@pytest.fixture
def world(django_user_model, settings, tmp_path) -> dict[str, Any]:
    """The users of each role, their clients, and one object of each kind owned by "user"."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.OPENAI_API_KEY = ""
    settings.WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.METRICS_TOKEN = None
    users = {
        "user": django_user_model.objects.create_user("alice"),
        "other": django_user_model.objects.create_user("bob"),
        "staff": django_user_model.objects.create_superuser("root", email=""),
    }
    clients: dict[str, Client] = {"anonymous": Client()}
    for role, user in users.items():
        _, raw = ApiToken.objects.create_token(user=user, name=role)
        client = Client(headers={"Authorization": f"Bearer {raw}"})
        client.force_login(user)
        clients[role] = client
    alice = users["user"]
    from django.core.files.base import ContentFile

    from briefs.services import asset_store_upload

    text = asset_store_upload(owner=alice, file=ContentFile(b"words", name="notes.txt"))
    brief = Brief.objects.create(
        owner=alice, title="Mine", query="Q", media_type="text", assets=[text]
    )
    transcript = Transcript.objects.create(
        brief=brief, segments=[], model="offline", prompt_version="t1"
    )
    sop = SOP.objects.create(
        brief=brief, owner=alice, transcript=transcript, data={}, model="x", prompt_version="s1"
    )
    artifact = Artifact.objects.create(
        brief=brief,
        kind="analysis",
        name="analysis.json",
        content_type="application/json",
        document={"summary": "s"},
        step="analysis",
    )
    failed = enqueue("noop", {}, owner=alice)
    Job.objects.filter(pk=failed.pk).update(status=Job.Status.FAILED, error="broken")
    worker = WorkerRow.objects.create(id="w-access", hostname="h", pid=1, concurrency=1)
    from django.contrib.contenttypes.models import ContentType

    values = {
        "user": alice.pk,
        "group": Group.objects.create(name="editors").pk,
        "job": enqueue("noop", {}, owner=alice).pk,
        "failed_job": failed.pk,
        "worker": worker.pk,
        "credit": CreditAccount.objects.create(user=alice, balance=10).pk,
        "brief": brief.pk,
        "transcript": transcript.pk,
        "sop": sop.pk,
        "artifact": artifact.pk,
        "token": ApiToken.objects.filter(user=alice).get().pk,
        "queue": Queue.objects.create(name="access").pk,
        "schedule": Schedule.objects.create(name="access", job_type="noop", cron="0 3 * * *").pk,
        "job_content_type": ContentType.objects.get_for_model(Job).pk,
        "aicall": AICall.objects.create(
            user=alice, provider="openai", model="gpt-5.4-mini", kind="text", cost="0.01"
        ).pk,
        "price": Price.objects.earliest("id").pk,
        "budgetcap": BudgetCap.objects.create(user=alice, period="day", amount=5).pk,
    }
    return {"clients": clients, "values": values}


def fill(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, str):
        filled = value
        for name, item in values.items():
            filled = filled.replace("{" + name + "}", str(item))
        return int(filled) if value.startswith("{") and filled.isdigit() else filled
    if isinstance(value, dict):
        return {key: fill(item, values) for key, item in value.items()}
    return value


def matches(response: Any, expected: Any) -> bool:
    if expected == LOGIN:
        return response.status_code == 302 and response["Location"].startswith("/admin/login/")
    if isinstance(expected, tuple):
        return response.status_code in expected
    return response.status_code == expected


@pytest.mark.django_db
@pytest.mark.parametrize("key", sorted(all_rules()))
def test_each_url_answers_each_role_as_documented(key, world):
    rule = all_rules()[key]
    path = fill(rule.path, world["values"])
    body = fill(rule.body, world["values"])
    wrong = {}
    for role in ROLES:
        client: Client = world["clients"][role]
        with transaction.atomic():  # each role sees the objects as they were
            if rule.method == "GET":
                response = client.get(path)
            elif rule.method == "PUT":
                response = client.put(path, body or {}, content_type="application/json")
            elif path.startswith("/api/"):
                response = client.post(path, body or {}, content_type="application/json")
            else:
                response = client.post(path, body or {})
            transaction.set_rollback(True)
        if not matches(response, rule.expect[role]):
            wrong[role] = (response.status_code, response.get("Location", ""))
        if role != "staff":  # staff see job tracebacks in the admin, by design
            answer = (
                b"".join(response.streaming_content) if response.streaming else response.content
            )
            assert "Traceback" not in answer.decode(errors="replace"), (role, path)
    assert wrong == {}, f"{rule.method} {path}: expected {rule.expect}"
