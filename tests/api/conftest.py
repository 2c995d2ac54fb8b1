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


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("stella", is_staff=True)


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
