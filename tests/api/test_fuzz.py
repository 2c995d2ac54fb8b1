"""Schemathesis fuzzes every operation of our own OpenAPI schema, in-process over WSGI, as a
logged-in user: no answer may be a 5xx, and every answer must match the schema (status code,
content type, body). Bounded so that the whole run stays well under a minute."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from api.models import ApiToken
from config.wsgi import application

# Business rules beyond the schema (a blank title, an asset URL that is not http(s), a brief
# that is already processing, credits, the per-user limit) refuse some schema-valid requests
# with a documented 4xx; every other check runs as schemathesis defines it.
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", 401, 402, 403, 404, 409, 413, 422, 429]
            }
        }
    }
)
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application, config=CONFIG)

WEBHOOK_SECRET = "fuzz-secret-that-is-never-guessed-0123456789"
CRON = "/api/cron/process-jobs"

FUZZ_SETTINGS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@pytest.fixture
def in_test_transaction():
    """The WSGI app closes "old" connections around each request, which would close the test
    transaction's connection; Django's test client switches that off in the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(params=["user", "staff"])
def fuzz_headers(request, django_user_model, settings, in_test_transaction):
    settings.WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.MAX_JOBS_PER_USER = 5
    user = django_user_model.objects.create_user(
        f"fuzz-{request.param}", is_staff=request.param == "staff"
    )
    _, raw = ApiToken.objects.create_token(user=user, name="fuzz")
    # The cron endpoint authenticates by its secret, every other operation by the token.
    return {"Authorization": f"Bearer {raw}", "X-Webhook-Secret": WEBHOOK_SECRET}


@pytest.mark.django_db
@schema.exclude(path=CRON).parametrize()
@FUZZ_SETTINGS
def test_api_answers_every_generated_request_without_a_5xx(case, fuzz_headers):
    case.call_and_validate(headers=fuzz_headers)


# The cron endpoint runs jobs in a thread with a connection of its own, which must see committed
# rows and may write (SQLite's lock): committed transactions, as in production.
@pytest.mark.django_db(transaction=True)
@schema.include(path=CRON).parametrize()
@FUZZ_SETTINGS
def test_cron_answers_every_generated_request_without_a_5xx(case, fuzz_headers, settings):
    case.call_and_validate(headers=fuzz_headers)
