"""``manage.py prune_uploads``: delete uploads no brief has used after a day."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from briefs import conf
from briefs.services import uploads_prune


def hours(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of hours") from None
    if not 0 <= number < 24 * 3650:
        raise argparse.ArgumentTypeError("hours must be between 0 and 87600")
    return number


class Command(BaseCommand):
    help = (
        "Delete uploaded files that no brief uses, older than --hours (default: "
        "BRIEFS_UPLOAD_UNATTACHED_HOURS, 24). Run it from cron, e.g. hourly."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--hours", type=hours, default=None, help="Age in hours.")

    def handle(self, *args: Any, hours: float | None, **options: Any) -> None:
        if hours is None:
            hours = conf.upload_unattached_hours()
        if hours < 0:
            raise CommandError("--hours cannot be negative.")
        deleted = uploads_prune(older_than=timedelta(hours=hours))
        self.stdout.write(f"Deleted {deleted} unattached upload(s) older than {hours:g} h.")
