from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from api.models import ApiToken


class ApiClient:
    """A Django test client that sends one user's API token with every request."""

    def __init__(self, user: Any = None) -> None:
        self.user = user
        self.client = Client()
        self.headers: dict[str, str] = {}
        if user is not None:
            _, raw = ApiToken.objects.create_token(user=user, name="tests")
            self.token = raw
            self.headers = {"Authorization": f"Bearer {raw}"}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params, headers=self.headers)

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.client.post(
            path,
            body if body is not None else {},
            content_type="application/json",
            headers=self.headers | headers,
        )


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob")


#: What an operator of the queue may do in the admin, and so through the API.
OPERATOR_PERMISSIONS = (
    "jobs.view_job",
    "jobs.add_job",
    "jobs.cancel_job",
    "jobs.requeue_job",
    "jobs.prioritize_job",
    "briefs.view_brief",
    "briefs.change_brief",
    "briefs.view_transcript",
    "briefs.view_sop",
)


def grant(user: Any, *permissions: str) -> Any:
    """Give ``user`` Django permissions (``app.codename``); returns the user, reloaded."""
    from django.contrib.auth.models import Permission

    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return type(user).objects.get(pk=user.pk)  # a fresh permission cache


@pytest.fixture
def staff(django_user_model):
    """Staff with the operator's permissions (staff status alone grants nothing)."""
    user = django_user_model.objects.create_user("stella", is_staff=True)
    return grant(user, *OPERATOR_PERMISSIONS)


@pytest.fixture
def as_alice(alice) -> ApiClient:
    return ApiClient(alice)


@pytest.fixture
def as_bob(bob) -> ApiClient:
    return ApiClient(bob)


@pytest.fixture
def as_staff(staff) -> ApiClient:
    return ApiClient(staff)


@pytest.fixture
def anonymous() -> ApiClient:
    return ApiClient()


@pytest.fixture(autouse=True)
def offline_media(settings, tmp_path):
    """Uploads go to a temporary folder; without an OpenAI key the briefs use the offline
    provider."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.OPENAI_API_KEY = ""
