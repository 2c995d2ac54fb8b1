from __future__ import annotations

import argparse
import json as json_module
from typing import Any

from django.core.management.base import BaseCommand

from jobs.selectors import job_counts_by, job_counts_by_status


class Command(BaseCommand):
    help = (
        "Print the number of jobs in each status, then per queue and per job type; as tables "
        "or as JSON."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument(
            "--by",
            choices=["status", "queue", "type"],
            default=None,
            help="only this breakdown (with --json: status gives {status: n}, the others "
            "{name: {status: n}}; --json alone keeps the status object)",
        )

    def handle(self, *args: Any, json: bool = False, by: str | None = None, **options: Any) -> None:
        if json:
            data: Any = job_counts_by_status() if by in (None, "status") else job_counts_by(by)
            self.stdout.write(_dumps(data))
            return
        counts = job_counts_by_status()
        if by in (None, "status"):
            width = max(len(status) for status in counts)
            for status, number in counts.items():
                self.stdout.write(f"{status:<{width}}  {number:>10,}")
        for field in ("queue", "type"):
            if by in (None, field):
                self._table(field, job_counts_by(field))

    def _table(self, field: str, rows: dict[str, dict[str, int]]) -> None:
        statuses = list(job_counts_by_status())
        width = max([len(field), *(len(name) for name in rows)])
        self.stdout.write("")
        self.stdout.write(f"{field:<{width}}  " + " ".join(f"{s:>10}" for s in statuses))
        for name, counts in rows.items():
            cells = " ".join(f"{counts.get(s, 0):>10,}" for s in statuses)
            self.stdout.write(f"{name:<{width}}  {cells}")


def _dumps(data: Any) -> str:
    return json_module.dumps(data)
