from __future__ import annotations

import argparse
import re
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand

from jobs import conf
from jobs.management.commands.runworker import positive_int_up_to
from jobs.services import prune_finished

UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds", "w": "weeks"}


MAX_AGE = timedelta(days=36500)
MAX_BATCH_SIZE = 100_000


def duration(value: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d+)\s*([wdhms])\s*", value)
    if not match:
        shown = repr(value if len(value) <= 50 else f"{value[:50]}…")
        raise argparse.ArgumentTypeError(f"{shown} is not a duration like 7d, 12h, 30m or 45s")
    too_long = argparse.ArgumentTypeError(f"is too long: at most {MAX_AGE.days} days")
    if len(match[1]) > 12:
        raise too_long
    try:
        age = timedelta(**{UNITS[match[2]]: int(match[1])})
    except OverflowError:
        raise too_long from None
    if age > MAX_AGE:
        raise too_long
    return age


class Command(BaseCommand):
    help = "Delete finished jobs (succeeded, failed, cancelled) older than the retention period."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--older-than", type=duration, default=None, help="e.g. 7d (JOB_RETENTION_DAYS)"
        )
        parser.add_argument("--batch-size", type=positive_int_up_to(MAX_BATCH_SIZE), default=1000)

    def handle(
        self, *args: Any, older_than: timedelta | None, batch_size: int, **options: Any
    ) -> None:
        age = older_than or timedelta(days=conf.retention_days())
        deleted = prune_finished(older_than=age, batch_size=batch_size)
        self.stdout.write(f"Deleted {deleted} finished job(s) older than {age}.")
