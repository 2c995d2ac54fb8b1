"""System checks for settings of the queue that would break it at run time."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register

from jobs import conf


@register()
def check_job_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    if conf.lease_seconds() < 1:
        errors.append(Error("JOBS_LEASE_SECONDS must be at least 1 second.", id="jobs.E001"))
    if conf.default_max_attempts() < 1:
        errors.append(Error("JOBS_DEFAULT_MAX_ATTEMPTS must be at least 1.", id="jobs.E002"))
    if conf.retry_backoff_base() < 0 or conf.retry_backoff_max() < conf.retry_backoff_base():
        errors.append(
            Error(
                "JOBS_RETRY_BACKOFF_BASE must be >= 0 and not above JOBS_RETRY_BACKOFF_MAX.",
                id="jobs.E003",
            )
        )
    return errors
