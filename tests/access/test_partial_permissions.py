"""Staff with partial permissions (issue 11, hole 3): through the API, the dashboard (plain and
htmx requests) and the admin, a staff user can do exactly what their Django permissions allow,
the same as in the admin. Staff status alone grants nothing.

Roles: ``bare`` (staff, no permissions), ``viewer`` (may view jobs, briefs, transcripts and
SOPs), ``canceller`` (viewer + cancel jobs), ``tokens`` (may only add API tokens). The objects
belong to the user "alice"; "root" is a superuser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from api.models import ApiToken
from briefs.models import SOP, Brief, Transcript
from jobs.models import Job
from jobs.services import enqueue
from tests.api.conftest import grant

VIEW = ("jobs.view_job", "briefs.view_brief", "briefs.view_transcript", "briefs.view_sop")
ROLES = {
    "bare": (),
    "viewer": VIEW,
    "canceller": (*VIEW, "jobs.cancel_job"),
    "tokens": ("api.add_apitoken",),
}
HTMX = {"HX-Request": "true"}


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    expect: dict[str, int]  # role -> status (left out: canceller as viewer, others as bare)
    body: Any = None
    htmx: bool = False


def refused_to_all(status: int = 403) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


CASES = [
    # Reading: only with the model's view permission; otherwise like a stranger (404).
    Case("GET", "/api/jobs/{job}", {"bare": 404, "viewer": 200, "canceller": 200, "tokens": 404}),
    Case(
        "GET", "/api/briefs/{brief}", {"bare": 404, "viewer": 200, "canceller": 200, "tokens": 404}
    ),
    Case("GET", "/api/transcripts/{transcript}", {"bare": 404, "viewer": 200, "tokens": 404}),
    Case("GET", "/api/sops/{sop}", {"bare": 404, "viewer": 200, "canceller": 200, "tokens": 404}),
    # Acting on someone else's job: the admin action's permission.
    Case(
        "POST",
        "/api/jobs/{job}/cancel",
        {"bare": 404, "viewer": 403, "canceller": 200, "tokens": 404},
    ),
    Case("POST", "/api/jobs/{failed_job}/requeue", refused_to_all()),
    Case("POST", "/api/jobs/test_echo/start", refused_to_all(), body={"priority": 5}),
    Case("POST", "/api/jobs/test_echo/start", refused_to_all(), body={"queue": "fast"}),
    Case("POST", "/api/jobs/noop/start", refused_to_all(), body={}),
    Case("POST", "/api/jobs/sleep/start", refused_to_all(), body={"payload": {"seconds": 1}}),
    # Starting jobs on someone else's brief: the admin's change permission.
    Case(
        "POST",
        "/api/briefs/integrate",
        {"bare": 404, "viewer": 403, "canceller": 403, "tokens": 404},
        body={"brief_id": "{brief}"},
    ),
    Case(
        "POST",
        "/api/briefs/{brief}/sop",
        {"bare": 404, "viewer": 403, "canceller": 403, "tokens": 404},
    ),
    Case(
        "POST",
        "/api/jobs/test_echo/start",
        {"bare": 404, "viewer": 403, "canceller": 403, "tokens": 404},
        body={"payload": {"brief_id": "{brief}"}},
    ),
    # The dashboard, plain and htmx: it shows every user's jobs, so it needs jobs.view_job.
    Case("GET", "/test-worker/", {"bare": 403, "viewer": 200, "canceller": 200, "tokens": 403}),
    Case("GET", "/test-worker/overview/", {"bare": 403, "viewer": 200, "tokens": 403}, htmx=True),
    Case("GET", "/test-worker/pending/", {"bare": 403, "viewer": 200, "tokens": 403}, htmx=True),
    Case("GET", "/test-worker/jobs/{job}/", {"bare": 403, "viewer": 200, "tokens": 403}, htmx=True),
    Case(
        "POST",
        "/test-worker/jobs/{job}/cancel/",
        {"bare": 403, "viewer": 403, "canceller": 200, "tokens": 403},
        htmx=True,
    ),
    Case("POST", "/test-worker/jobs/{failed_job}/requeue/", refused_to_all(), htmx=True),
    Case("POST", "/test-worker/jobs/{failed_job}/requeue/", refused_to_all()),
    Case(
        "POST",
        "/test-worker/enqueue/",
        refused_to_all(),
        body={"type": "noop", "payload": "{}", "count": "1", "priority": "0"},
        htmx=True,
    ),
    # The admin's own pages agree.
    Case("GET", "/admin/jobs/job/", {"bare": 403, "viewer": 200, "canceller": 200, "tokens": 403}),
    Case("GET", "/admin/briefs/brief/{brief}/change/", {"bare": 403, "viewer": 200, "tokens": 403}),
]


@pytest.fixture
def world(django_user_model, settings, tmp_path) -> dict[str, Any]:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.OPENAI_API_KEY = ""
    alice = django_user_model.objects.create_user("alice")
    root = django_user_model.objects.create_superuser("root", email="")
    clients = {}
    users = {}
    for role, permissions in ROLES.items():
        user = grant(django_user_model.objects.create_user(role, is_staff=True), *permissions)
        _, raw = ApiToken.objects.create_token(user=user, name=role)
        api = Client(headers={"Authorization": f"Bearer {raw}"})
        session = Client()
        session.force_login(user)
        clients[role] = {"api": api, "session": session}
        users[role] = user
    brief = Brief.objects.create(owner=alice, title="Mine", query="Q", media_type="video")
    transcript = Transcript.objects.create(brief=brief, segments=[], model="m", prompt_version="t")
    sop = SOP.objects.create(
        brief=brief, owner=alice, transcript=transcript, data={}, model="m", prompt_version="s"
    )
    failed = enqueue("noop", {}, owner=alice)
    Job.objects.filter(pk=failed.pk).update(status=Job.Status.FAILED, error="broken")
    values = {
        "job": enqueue("noop", {}, owner=alice).pk,
        "failed_job": failed.pk,
        "brief": brief.pk,
        "transcript": transcript.pk,
        "sop": sop.pk,
    }
    return {"clients": clients, "values": values, "alice": alice, "root": root, "users": users}


def fill(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, str):
        filled = value
        for name, item in values.items():
            filled = filled.replace("{" + name + "}", str(item))
        return int(filled) if value.startswith("{") and filled.isdigit() else filled
    if isinstance(value, dict):
        return {key: fill(item, values) for key, item in value.items()}
    return value


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.path} {c.body or ''}")
def test_partial_permissions_allow_exactly_what_the_admin_allows(case, world):
    path = fill(case.path, world["values"])
    body = fill(case.body, world["values"])
    wrong = {}
    for role in ROLES:
        fallback = "viewer" if role == "canceller" else "bare"
        expected = case.expect.get(role, case.expect[fallback])
        kind = "api" if path.startswith("/api/") else "session"
        client: Client = world["clients"][role][kind]
        headers = HTMX if case.htmx else {}
        with transaction.atomic():
            if case.method == "GET":
                response = client.get(path, headers=headers)
            elif kind == "api":
                response = client.post(path, body or {}, content_type="application/json")
            else:
                response = client.post(path, body or {}, headers=headers)
            transaction.set_rollback(True)
        if response.status_code != expected:
            wrong[role] = response.status_code
    assert wrong == {}, f"{case.method} {path}: expected {case.expect}"


@pytest.mark.django_db
def test_a_refused_action_changes_nothing(world):
    job = Job.objects.get(pk=world["values"]["job"])
    for role in ("bare", "viewer", "tokens"):
        session = world["clients"][role]["session"]
        session.post(f"/test-worker/jobs/{job.pk}/cancel/", headers=HTMX)
        session.post(f"/admin/jobs/job/{job.pk}/do/cancel/")
        session.post("/admin/jobs/job/", {"action": "cancel_jobs", "_selected_action": [job.pk]})
        world["clients"][role]["api"].post(f"/api/jobs/{job.pk}/cancel")
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and not job.cancel_requested


@pytest.mark.django_db
def test_lists_show_others_rows_only_with_the_view_permission(world):
    counts = {
        role: (
            clients["api"].get("/api/jobs").json()["count"],
            clients["api"].get("/api/briefs").json()["count"],
        )
        for role, clients in world["clients"].items()
    }
    assert counts == {"bare": (0, 0), "viewer": (2, 1), "canceller": (2, 1), "tokens": (0, 0)}


@pytest.mark.django_db
def test_a_token_is_made_only_for_oneself_unless_superuser(world, django_user_model):
    session = world["clients"]["tokens"]["session"]
    root = world["root"]
    response = session.post("/admin/api/apitoken/add/", {"user": root.pk, "name": "mine now"})
    assert response.status_code == 200  # the form again, with an error
    assert not ApiToken.objects.filter(user=root).exists()
    page = session.get("/admin/api/apitoken/add/").content.decode()
    assert f'value="{root.pk}"' not in page and "root" not in page

    me = world["users"]["tokens"]
    response = session.post("/admin/api/apitoken/add/", {"user": me.pk, "name": "cron"})
    assert response.status_code == 200 and b"jat_" in response.content
    assert ApiToken.objects.filter(user=me, name="cron").exists()

    superuser = Client()
    superuser.force_login(root)
    alice = world["alice"]
    superuser.post("/admin/api/apitoken/add/", {"user": alice.pk, "name": "for alice"})
    assert ApiToken.objects.filter(user=alice, name="for alice").exists()
