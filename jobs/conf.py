"""The queue's settings, with their defaults, read when asked (never at import time).

``DEFAULTS`` is the one place each default is written: the accessors below fall back to it when
a project leaves a setting out, and ``config/settings.py`` reads the environment with it (the
type of a default is how its environment variable is parsed). The README's configuration table
is checked against it by ``tests/test_settings_documented.py``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "JOBS_LEASE_SECONDS": 30.0,
    "JOBS_DEFAULT_TIMEOUT": 300.0,
    "JOBS_DEFAULT_MAX_ATTEMPTS": 3,
    "JOBS_RETRY_BACKOFF_BASE": 5.0,
    "JOBS_RETRY_BACKOFF_MAX": 3600.0,
    "JOBS_GRACE_PERIOD": 30.0,
    "JOBS_CLAIM_AHEAD": 4,
    "JOBS_OUTAGE_REMINDER_SECONDS": 60.0,
    "JOBS_HANDLER_MODULES": [],
    "JOBS_PREPARED_STATEMENTS": True,
    "JOBS_LISTEN_DATABASE_URL": "",
    "JOBS_MAX_PAYLOAD_BYTES": 1_000_000,
    "JOBS_DASHBOARD_TOTALS_TTL": 10.0,
    "JOB_RETENTION_DAYS": 7,
    "JOBS_HELD_RECHECK_SECONDS": 300.0,
    "JOBS_RETENTION_SCHEDULE": "17 3 * * *",
    "JOBS_SCHEDULER": True,
    "JOBS_SCHEDULER_INTERVAL": 1.0,
}


def setting(name: str) -> Any:
    """The project's value of one of the queue's settings, or its default."""
    return getattr(settings, name, DEFAULTS[name])


def lease_seconds() -> float:
    """How long a claimed job stays a worker's without a heartbeat renewing it."""
    return float(setting("JOBS_LEASE_SECONDS"))


def heartbeat_seconds() -> float:
    """How often a worker renews its leases and its own row: three times per lease."""
    return lease_seconds() / 3


def worker_stale_seconds() -> float:
    """A worker whose heartbeat is older than this is taken for dead."""
    return lease_seconds() * 2


def default_timeout() -> float:
    return float(setting("JOBS_DEFAULT_TIMEOUT"))


def default_max_attempts() -> int:
    return int(setting("JOBS_DEFAULT_MAX_ATTEMPTS"))


def retry_backoff_base() -> float:
    return float(setting("JOBS_RETRY_BACKOFF_BASE"))


def retry_backoff_max() -> float:
    return float(setting("JOBS_RETRY_BACKOFF_MAX"))


def grace_period() -> float:
    """Seconds a stopping worker lets running jobs finish before giving them back."""
    return float(setting("JOBS_GRACE_PERIOD"))


def claim_ahead() -> int:
    """Jobs per slot a worker claims beyond its free slots while its jobs are short (0: none):
    a job thread then takes its next job without waiting for the loop's next statement."""
    return max(0, int(setting("JOBS_CLAIM_AHEAD")))


def handler_modules() -> list[str]:
    """Extra modules to import at start-up so that their handlers register."""
    return list(setting("JOBS_HANDLER_MODULES"))


def held_recheck_seconds() -> float:
    """A held job with no known time to resume (``JobHeld(until=None)``) is looked at again
    after this many seconds."""
    return float(setting("JOBS_HELD_RECHECK_SECONDS"))


def retention_days() -> int:
    return int(setting("JOB_RETENTION_DAYS"))


def scheduler_enabled() -> bool:
    """Workers enqueue periodic jobs (each runs the scheduler; the database dedups ticks)."""
    return bool(setting("JOBS_SCHEDULER"))


def scheduler_interval() -> float:
    """Seconds between a worker's looks for due schedules."""
    return float(setting("JOBS_SCHEDULER_INTERVAL"))


def retention_schedule() -> str:
    """When the built-in pruning of old jobs runs (cron, UTC); empty: never on its own."""
    return str(setting("JOBS_RETENTION_SCHEDULE"))


def dashboard_totals_ttl() -> float:
    """Seconds the dashboard reuses its all-time totals of finished jobs (0: never). Counting
    millions of finished rows is the one dashboard query whose cost grows with the table."""
    return float(setting("JOBS_DASHBOARD_TOTALS_TTL"))


def prepare_statements() -> bool:
    """Prepare the worker's claim and completion statements on PostgreSQL (turn off behind a
    pooler in transaction mode that cannot keep prepared statements)."""
    return bool(setting("JOBS_PREPARED_STATEMENTS"))


def max_payload_bytes() -> int:
    """The largest payload (as JSON) a job may carry."""
    return int(setting("JOBS_MAX_PAYLOAD_BYTES"))


def outage_reminder_seconds() -> float:
    """While the database is unreachable, a worker reminds the log this often."""
    return float(setting("JOBS_OUTAGE_REMINDER_SECONDS"))


def listen_database_url() -> str:
    """A PostgreSQL URL the worker opens its LISTEN connection to, instead of the default
    database's settings: LISTEN needs a session of its own, which PgBouncer in transaction mode
    does not keep. Empty: the default database's connection settings."""
    return str(setting("JOBS_LISTEN_DATABASE_URL") or "")
