"""System checks for the API's settings."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Warning, register

from api import conf

MIN_SECRET_LENGTH = 16


@register()
def check_api_settings(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    problems: list[Error | Warning] = []
    secret = conf.webhook_secret()
    if secret and len(secret) < MIN_SECRET_LENGTH:
        problems.append(
            Warning(
                f"WEBHOOK_SECRET is shorter than {MIN_SECRET_LENGTH} characters.",
                hint="Use a long random value, e.g. python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'.",
                id="api.W001",
            )
        )
    token = conf.metrics_token()
    if token and len(token) < MIN_SECRET_LENGTH:
        problems.append(
            Warning(
                f"METRICS_TOKEN is shorter than {MIN_SECRET_LENGTH} characters.",
                id="api.W002",
            )
        )
    if conf.max_jobs_per_user() < 0:
        problems.append(Error("MAX_JOBS_PER_USER cannot be negative.", id="api.E001"))
    if conf.cron_max_jobs() < 1:
        problems.append(Error("API_CRON_MAX_JOBS must be at least 1.", id="api.E002"))
    problems.extend(_health_threshold_problems())
    return problems


def _health_threshold_problems() -> list[Error | Warning]:
    overrides = conf.setting("API_HEALTH_THRESHOLDS") or {}
    if not isinstance(overrides, dict):
        return [Error("API_HEALTH_THRESHOLDS must be a dict (key=value,...).", id="api.E003")]
    known = conf.health_threshold_defaults()
    problems: list[Error | Warning] = []
    for key, value in overrides.items():
        if key not in known:
            problems.append(
                Error(
                    f"API_HEALTH_THRESHOLDS has an unknown key {key!r}.",
                    hint=f"Known keys: {', '.join(known)}.",
                    id="api.E003",
                )
            )
            continue
        try:
            float(value)
        except (TypeError, ValueError):
            problems.append(
                Error(f"API_HEALTH_THRESHOLDS[{key!r}] must be a number.", id="api.E003")
            )
    return problems
