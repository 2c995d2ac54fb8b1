"""Who is calling: a personal API token (programs) or a Django session (browsers).

Neither class ever logs the ``Authorization`` header. A session request that changes something
must pass Django's CSRF check (send the ``X-CSRFToken`` header); token requests need none,
because a browser never adds a bearer token by itself.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security.base import AuthBase
from ninja.utils import check_csrf

from api.models import ApiToken

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def bearer_token(request: HttpRequest) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


class TokenAuth(AuthBase):
    openapi_type = "http"
    openapi_scheme = "bearer"

    def __call__(self, request: HttpRequest) -> Any:
        raw = bearer_token(request)
        if raw is None:
            return None
        token = ApiToken.objects.authenticate(raw)
        if token is None:
            return None
        request.user = token.user
        return token.user


class SessionAuth(AuthBase):
    """The logged-in user of a Django session; unsafe methods need a valid CSRF token."""

    openapi_type = "apiKey"
    openapi_in = "cookie"
    openapi_name = "sessionid"

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise HttpError(403, "CSRF check failed: send the X-CSRFToken header with the form.")
        return user


token_auth = TokenAuth()
session_auth = SessionAuth()
#: Every endpoint that shows or changes a user's data takes either.
user_auth = [token_auth, session_auth]
