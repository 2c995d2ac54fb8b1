from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError

from jobs.worker import WorkerProcess

MAX_CONCURRENCY = 1000
MAX_POLL_INTERVAL = 3600.0
MAX_GRACE_PERIOD = 86400.0
MAX_CLAIM_AHEAD = 100


def _shown(value: str) -> str:
    """The user's value for an error message, cut short when it is huge."""
    return repr(value if len(value) <= 50 else f"{value[:50]}…")


def _whole_number(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{_shown(value)} is not a whole number") from None


def positive_int(value: str, *, most: int = 2**31 - 1) -> int:
    number = _whole_number(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    if number > most:
        raise argparse.ArgumentTypeError(f"must be at most {most:,}, got {_shown(value)}")
    return number


def claim_ahead(value: str) -> int:
    number = _whole_number(value)
    if not 0 <= number <= MAX_CLAIM_AHEAD:
        raise argparse.ArgumentTypeError(f"must be 0 to {MAX_CLAIM_AHEAD}, got {_shown(value)}")
    return number


def positive_int_up_to(most: int) -> Callable[[str], int]:
    return functools.partial(positive_int, most=most)


def positive_float(value: str, *, most: float = MAX_POLL_INTERVAL) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{_shown(value)} is not a number") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value}")
    if number > most:
        raise argparse.ArgumentTypeError(f"must be at most {most:g}, got {value}")
    return number


def grace_seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{_shown(value)} is not a number of seconds") from None
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"cannot be negative, got {value}")
    if number > MAX_GRACE_PERIOD:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_GRACE_PERIOD:g}, got {value}")
    return number


def name_text(value: str, *, most: int) -> str:
    """A worker or queue name: 1 to ``most`` printable characters of valid Unicode."""
    if not 0 < len(value) <= most:
        raise argparse.ArgumentTypeError(f"must be 1 to {most} characters, got {len(value):,}")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError(f"{_shown(value)} is not valid Unicode text") from None
    if not value.isprintable():
        raise argparse.ArgumentTypeError(f"{_shown(value)} has control characters")
    return value


def worker_name(value: str) -> str:
    return name_text(value, most=200)


def port(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535, got {number}")
    return number


def queue_list(value: str) -> list[str]:
    queues = [name.strip() for name in value.split(",") if name.strip()]
    if not queues:
        raise argparse.ArgumentTypeError("give at least one queue name, e.g. --queues default,ai")
    return [name_text(name, most=100) for name in queues]


class Command(BaseCommand):
    help = "Run a worker: claim ready jobs, run them, retry failures, stop cleanly on SIGTERM."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--queues", type=queue_list, default=None, help="a,b (default: all)")
        parser.add_argument(
            "--concurrency",
            type=positive_int_up_to(MAX_CONCURRENCY),
            default=4,
            help="jobs at once",
        )
        parser.add_argument(
            "--claim-ahead",
            type=claim_ahead,
            default=None,
            help="jobs per slot claimed ahead while jobs are short; 0: none (JOBS_CLAIM_AHEAD)",
        )
        parser.add_argument("--poll-interval", type=positive_float, default=1.0, help="seconds")
        parser.add_argument("--burst", action="store_true", help="exit when nothing is ready")
        parser.add_argument("--max-jobs", type=positive_int, default=None, help="then exit")
        parser.add_argument(
            "--worker-id", type=worker_name, default=None, help="default: host-pid-random"
        )
        parser.add_argument("--health-port", type=port, default=None, help="serve GET /health")
        parser.add_argument("--health-host", default="127.0.0.1")
        parser.add_argument(
            "--no-scheduler",
            action="store_true",
            help="do not enqueue periodic jobs from this worker (JOBS_SCHEDULER)",
        )
        parser.add_argument(
            "--grace-period",
            type=grace_seconds,
            default=None,
            help="seconds running jobs get to finish at shutdown (JOBS_GRACE_PERIOD)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        worker_id = options["worker_id"]
        try:
            worker = WorkerProcess(
                queues=options["queues"],
                concurrency=options["concurrency"],
                poll_interval=options["poll_interval"],
                burst=options["burst"],
                max_jobs=options["max_jobs"],
                worker_id=worker_id,
                health_port=options["health_port"],
                health_host=options["health_host"],
                grace_period=options["grace_period"],
                scheduler=not options["no_scheduler"],
                claim_ahead=options["claim_ahead"],
            )
        except (OSError, UnicodeError, TypeError) as exc:
            # A port in use, a host that does not resolve or cannot be encoded.
            raise CommandError(f"Cannot serve health checks: {exc}") from None
        try:
            worker.run()
        except OperationalError as exc:  # only a burst run gives up on an unreachable database
            raise CommandError(f"Cannot reach the database: {exc}".strip()) from None
