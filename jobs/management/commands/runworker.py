from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jobs.worker import Worker


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value}")
    return number


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
    return queues


class Command(BaseCommand):
    help = "Run a worker: claim ready jobs, run them, retry failures, stop cleanly on SIGTERM."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--queues", type=queue_list, default=None, help="a,b (default: all)")
        parser.add_argument("--concurrency", type=positive_int, default=4, help="jobs at once")
        parser.add_argument("--poll-interval", type=positive_float, default=1.0, help="seconds")
        parser.add_argument("--burst", action="store_true", help="exit when nothing is ready")
        parser.add_argument("--max-jobs", type=positive_int, default=None, help="then exit")
        parser.add_argument("--worker-id", default=None, help="default: host-pid-random")
        parser.add_argument("--health-port", type=port, default=None, help="serve GET /health")
        parser.add_argument("--health-host", default="127.0.0.1")
        parser.add_argument(
            "--grace-period",
            type=float,
            default=None,
            help="seconds running jobs get to finish at shutdown (JOBS_GRACE_PERIOD)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        worker_id = options["worker_id"]
        if worker_id is not None and not (0 < len(worker_id) <= 200):
            raise CommandError("--worker-id must be 1 to 200 characters.")
        if options["grace_period"] is not None and options["grace_period"] < 0:
            raise CommandError("--grace-period cannot be negative.")
        try:
            worker = Worker(
                queues=options["queues"],
                concurrency=options["concurrency"],
                poll_interval=options["poll_interval"],
                burst=options["burst"],
                max_jobs=options["max_jobs"],
                worker_id=worker_id,
                health_port=options["health_port"],
                health_host=options["health_host"],
                grace_period=options["grace_period"],
            )
        except OSError as exc:
            raise CommandError(f"Cannot serve health checks: {exc}") from None
        worker.run()
