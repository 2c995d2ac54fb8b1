"""Helpers for tests that drive real worker processes (see ``start_worker`` in conftest)."""

from __future__ import annotations

import json
import re
import urllib.request
from collections import defaultdict
from itertools import pairwise
from typing import Any

from jobs.models import JobAttempt
from tests.conftest import WorkerProcess, wait_for

HEALTH_LINE = re.compile(r"health on (http://\S+/health)")


def health_url(worker: WorkerProcess, *, timeout: float = 60) -> str:
    """The URL a worker started with ``--health-port 0`` serves, read from its log."""

    def announced() -> str | None:
        """the worker logged its health URL"""
        match = HEALTH_LINE.search(worker.output())
        return match[1] if match else None

    return wait_for(announced, timeout=timeout)


def get_health(url: str, *, timeout: float = 10) -> tuple[int, dict[str, Any]]:
    """GET the health URL: the HTTP status and the JSON body (also for a 503)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def overlapping_attempts(job_ids: list[int]) -> list[int]:
    """Jobs whose history shows an attempt starting before the previous one was closed."""
    history: dict[int, list[JobAttempt]] = defaultdict(list)
    for attempt in JobAttempt.objects.filter(job_id__in=job_ids).order_by("started_at", "number"):
        history[attempt.job_id].append(attempt)
    return sorted(
        job_id
        for job_id, attempts in history.items()
        if any(
            earlier.finished_at is None or earlier.finished_at > later.started_at
            for earlier, later in pairwise(attempts)
        )
    )
