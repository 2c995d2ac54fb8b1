"""The API's settings, with their defaults, read when asked (never at import time).

Health thresholds are here so that the numbers behind ``healthy``/``degraded``/``unhealthy`` are
in one place (docs/api.md lists them too).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

#: The one place each default is written (see ``jobs/conf.py``). Secrets have none.
DEFAULTS: dict[str, Any] = {
    "WEBHOOK_SECRET": None,
    "METRICS_TOKEN": None,
    "MAX_JOBS_PER_USER": 10,
    "API_CRON_MAX_JOBS": 100,
    "API_HEALTH_THRESHOLDS": {},
}


def setting(name: str) -> Any:
    """The project's value of one of the API's settings, or its default."""
    return getattr(settings, name, DEFAULTS[name])


def webhook_secret() -> str:
    """The shared secret of ``POST /api/cron/process-jobs``; empty: the endpoint is disabled."""
    return setting("WEBHOOK_SECRET") or ""


def metrics_token() -> str:
    """A bearer token that may read ``/metrics`` (for Prometheus); empty: staff only."""
    return setting("METRICS_TOKEN") or ""


def max_jobs_per_user() -> int:
    """Jobs one (non-staff) user may have waiting or running at once; 0 means no limit."""
    return int(setting("MAX_JOBS_PER_USER"))


def cron_max_jobs() -> int:
    """The most jobs one cron request may run."""
    return int(setting("API_CRON_MAX_JOBS"))


# --- /api/health -------------------------------------------------------------------------

#: A ready job waiting longer than this makes the queue ``degraded`` …
HEALTH_WAIT_DEGRADED_SECONDS = 60.0
#: … and longer than this ``unhealthy`` (HTTP 503).
HEALTH_WAIT_UNHEALTHY_SECONDS = 600.0
#: Success rate (succeeded / finished, last hour) below which the queue is ``degraded`` …
HEALTH_SUCCESS_DEGRADED = 0.90
#: … and below which it is ``unhealthy``.
HEALTH_SUCCESS_UNHEALTHY = 0.50
#: The success rate is judged only when at least this many jobs finished in the last hour.
HEALTH_MIN_FINISHED = 10
#: Ready jobs per unit of live worker capacity above which the queue is ``degraded``.
HEALTH_BACKLOG_PER_SLOT = 50


def health_threshold_defaults() -> dict[str, float]:
    return {
        "wait_degraded_seconds": HEALTH_WAIT_DEGRADED_SECONDS,
        "wait_unhealthy_seconds": HEALTH_WAIT_UNHEALTHY_SECONDS,
        "success_rate_degraded": HEALTH_SUCCESS_DEGRADED,
        "success_rate_unhealthy": HEALTH_SUCCESS_UNHEALTHY,
        "min_finished_for_rate": HEALTH_MIN_FINISHED,
        "backlog_per_slot": HEALTH_BACKLOG_PER_SLOT,
    }


def health_thresholds() -> dict[str, float]:
    """The thresholds in force; the ``API_HEALTH_THRESHOLDS`` setting (a dict, or in the
    environment ``key=value,key=value``) overrides the defaults above."""
    defaults = health_threshold_defaults()
    overrides = setting("API_HEALTH_THRESHOLDS") or {}
    return {key: float(overrides.get(key, value)) for key, value in defaults.items()}
