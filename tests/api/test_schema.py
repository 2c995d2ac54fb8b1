from __future__ import annotations

import pytest


def test_openapi_schema_lists_the_endpoints_and_both_auth_schemes(client):
    schema = client.get("/api/openapi.json").json()

    paths = schema["paths"]
    for path in (
        "/api/jobs",
        "/api/jobs/{job_id}",
        "/api/jobs/{type}/start",
        "/api/jobs/{job_id}/cancel",
        "/api/jobs/{job_id}/requeue",
        "/api/briefs",
        "/api/briefs/integrate",
        "/api/briefs/{brief_id}",
        "/api/health",
        "/api/cron/process-jobs",
    ):
        assert path in paths, path
    schemes = schema["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= schemes["TokenAuth"].items()
    assert schemes["SessionAuth"]["in"] == "cookie"
    assert schemes["WebhookSecret"]["name"] == "X-Webhook-Secret"


@pytest.mark.django_db
def test_interactive_docs_use_local_assets(client):
    response = client.get("/api/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui-bundle.js" in html
    assert "cdn." not in html
