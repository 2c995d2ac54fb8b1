from __future__ import annotations

import argparse
import json
from typing import Any

from django.core.management.base import BaseCommand

from jobs.selectors import job_counts_by_status


class Command(BaseCommand):
    help = "Print the number of jobs in each status, as a table or as JSON."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        counts = job_counts_by_status()
        if options["json"]:
            self.stdout.write(json.dumps(counts))
            return
        width = max(len(status) for status in counts)
        for status, number in counts.items():
            self.stdout.write(f"{status:<{width}}  {number:>10,}")
