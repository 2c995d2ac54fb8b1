from __future__ import annotations

import argparse
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jobs import insight
from jobs import queues as controls


def queue_name(value: str) -> str:
    try:
        return controls.check_name(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def rate(value: str) -> tuple[int, float]:
    try:
        return controls.parse_rate(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def concurrency(value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 100_000:
        raise argparse.ArgumentTypeError(f"{value[:20]!r} is not a number from 0 (no limit) up")
    return int(value)


class Command(BaseCommand):
    help = "List queues, pause or resume one, or set its concurrency and rate limits."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="every queue with its depth, state and limits")
        listing.add_argument("--json", action="store_true", help="print one JSON array")
        pause = sub.add_parser("pause", help="stop new claims from a queue on every worker")
        pause.add_argument("name", type=queue_name)
        pause.add_argument("--reason", default="", help="shown on the dashboard")
        resume = sub.add_parser("resume", help="let workers take the queue's jobs again")
        resume.add_argument("name", type=queue_name)
        release = sub.add_parser("release", help="end a hold (AI backpressure) at once")
        release.add_argument("name", type=queue_name)
        limit = sub.add_parser("limit", help="set global limits (0 or 'none' clears)")
        limit.add_argument("name", type=queue_name)
        limit.add_argument("--concurrency", type=concurrency, help="at most N running at once")
        limit.add_argument("--rate", help="at most N starts per period: 30/minute, 5/2s, 100/h")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "list":
            return self._list(as_json=options["json"])
        name = options["name"]
        if action == "pause":
            controls.queue_pause(name=name, by="manage.py queues", reason=options["reason"])
            self.stdout.write(f"Paused queue {name}: workers take none of its jobs now.")
        elif action == "resume":
            controls.queue_resume(name=name)
            self.stdout.write(f"Resumed queue {name}.")
        elif action == "release":
            controls.queue_release_hold(name=name)
            self.stdout.write(f"Released the hold on queue {name}.")
        else:
            self._limit(name, options["concurrency"], options["rate"])

    def _limit(self, name: str, concurrency: int | None, rate_text: str | None) -> None:
        if concurrency is None and rate_text is None:
            raise CommandError("Give --concurrency N and/or --rate N/PERIOD (0 / none clears).")
        rate: tuple[int | None, float | None] | None = None  # None: leave the rate as it is
        if rate_text is not None:
            if rate_text.strip().lower() in ("0", "none", "off"):
                rate = (None, None)
            else:
                try:
                    rate = controls.parse_rate(rate_text)
                except ValueError as exc:
                    raise CommandError(str(exc)) from None
        record = controls.queue_record(name)  # only once the options are known to be good
        new_concurrency = record.concurrency_limit if concurrency is None else concurrency or None
        starts, period = rate if rate is not None else (record.rate_limit, record.rate_period)
        record = controls.queue_set_limits(
            name=name, concurrency=new_concurrency, rate=starts, period=period
        )
        self.stdout.write(
            f"Queue {name}: concurrency {record.concurrency_limit or 'unlimited'}, "
            f"rate {record.rate_text or 'unlimited'}."
        )

    def _list(self, *, as_json: bool) -> None:
        summaries = insight.queue_summaries()
        if as_json:
            self.stdout.write(json.dumps([s.as_dict() for s in summaries]))
            return
        self.stdout.write(
            f"{'queue':<20} {'ready':>7} {'blocked':>7} {'later':>7} {'running':>7}  state"
        )
        for s in summaries:
            data = s.as_dict()
            state = []
            if s.paused:
                state.append(f"paused ({data['pause_reason'] or 'no reason'})")
            if s.held_until:
                state.append(f"held until {s.held_until:%H:%M:%S} ({data['hold_reason']})")
            if data["concurrency_limit"]:
                state.append(f"max {data['concurrency_limit']} running")
            if s.record and s.record.rate_text:
                state.append(f"rate {s.record.rate_text}")
            self.stdout.write(
                f"{s.name:<20} {s.ready:>7} {s.blocked:>7} {s.scheduled:>7} {s.running:>7}  "
                f"{', '.join(state) or 'running'}"
            )
