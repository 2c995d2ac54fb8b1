from __future__ import annotations

import argparse
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jobs.exceptions import JobError
from jobs.management.commands.runworker import positive_int_up_to
from jobs.services import enqueue, enqueue_many

MAX_COUNT = 100_000


def json_object(value: str) -> dict[str, Any]:
    try:
        payload = json.loads(value)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(
            f"not valid JSON ({exc.msg} at position {exc.pos})"
        ) from None
    except RecursionError:
        raise argparse.ArgumentTypeError("not accepted: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise argparse.ArgumentTypeError('must be a JSON object, e.g. {"seconds": 2}')
    return payload


def non_negative_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"cannot be negative, got {value}")
    return number


class Command(BaseCommand):
    help = "Add jobs to the queue and print their ids, one a line."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("type", help="a registered job type, e.g. noop or sleep")
        parser.add_argument("--payload", type=json_object, default={}, help="a JSON object")
        parser.add_argument(
            "--count", type=positive_int_up_to(MAX_COUNT), default=1, help="jobs to add"
        )
        parser.add_argument("--queue", default=None)
        parser.add_argument("--priority", type=int, default=0, help="higher runs first")
        parser.add_argument("--delay", type=non_negative_float, default=None, help="seconds")

    def handle(
        self, *args: Any, type: str, payload: dict[str, Any], count: int, **options: Any
    ) -> None:
        common = {
            "queue": options["queue"],
            "priority": options["priority"],
            "delay": options["delay"],
        }
        try:
            if count == 1:
                jobs = [enqueue(type, payload, **common)]
            else:
                jobs = enqueue_many(type, [payload] * count, **common)
        except (JobError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write("\n".join(str(job.pk) for job in jobs))
