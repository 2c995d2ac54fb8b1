"""The queue's settings, with their defaults, read when asked (never at import time)."""

from __future__ import annotations

from django.conf import settings


def lease_seconds() -> float:
    """How long a claimed job stays a worker's without a heartbeat renewing it."""
    return float(getattr(settings, "JOBS_LEASE_SECONDS", 30.0))


def heartbeat_seconds() -> float:
    """How often a worker renews its leases and its own row: three times per lease."""
    return lease_seconds() / 3


def worker_stale_seconds() -> float:
    """A worker whose heartbeat is older than this is taken for dead."""
    return lease_seconds() * 2


def default_timeout() -> float:
    return float(getattr(settings, "JOBS_DEFAULT_TIMEOUT", 300.0))


def default_max_attempts() -> int:
    return int(getattr(settings, "JOBS_DEFAULT_MAX_ATTEMPTS", 3))


def retry_backoff_base() -> float:
    return float(getattr(settings, "JOBS_RETRY_BACKOFF_BASE", 5.0))


def retry_backoff_max() -> float:
    return float(getattr(settings, "JOBS_RETRY_BACKOFF_MAX", 3600.0))


def grace_period() -> float:
    """Seconds a stopping worker lets running jobs finish before giving them back."""
    return float(getattr(settings, "JOBS_GRACE_PERIOD", 30.0))


def handler_modules() -> list[str]:
    """Extra modules to import at start-up so that their handlers register."""
    return list(getattr(settings, "JOBS_HANDLER_MODULES", []))


def retention_days() -> int:
    return int(getattr(settings, "JOB_RETENTION_DAYS", 7))


def scheduler_enabled() -> bool:
    """Workers enqueue periodic jobs (each runs the scheduler; the database dedups ticks)."""
    return bool(getattr(settings, "JOBS_SCHEDULER", True))


def scheduler_interval() -> float:
    """Seconds between a worker's looks for due schedules."""
    return float(getattr(settings, "JOBS_SCHEDULER_INTERVAL", 1.0))


def retention_schedule() -> str:
    """When the built-in pruning of old jobs runs (cron, UTC); empty: never on its own."""
    return str(getattr(settings, "JOBS_RETENTION_SCHEDULE", "17 3 * * *"))


def dashboard_totals_ttl() -> float:
    """Seconds the dashboard reuses its all-time totals of finished jobs (0: never). Counting
    millions of finished rows is the one dashboard query whose cost grows with the table."""
    return float(getattr(settings, "JOBS_DASHBOARD_TOTALS_TTL", 10.0))


def prepare_statements() -> bool:
    """Prepare the worker's claim and completion statements on PostgreSQL (turn off behind a
    pooler in transaction mode that cannot keep prepared statements)."""
    return bool(getattr(settings, "JOBS_PREPARED_STATEMENTS", True))
