"""What a running handler sees of its job: payload, progress, cancellation and deadlines."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jobs.exceptions import JobCancelled, JobLost, JobTimedOut, QueueHeld

if TYPE_CHECKING:
    from jobs.models import Job


class JobContext:
    """Handed to every handler. Long handlers call :meth:`check` (or :meth:`sleep`) often:
    that is where a cancellation, a timeout or the loss of the job's lease stops them."""

    CANCELLED, TIMED_OUT, LOST, SHUTDOWN = "cancelled", "timed_out", "lost", "shutdown"

    def __init__(self, job: Job, *, timeout: float) -> None:
        self.job = job
        self.deadline = time.monotonic() + timeout
        self.stop_reason: str | None = None
        self._stop = threading.Event()
        self._on_success: list[Callable[[], None]] = []

    @property
    def payload(self) -> dict[str, Any]:
        return self.job.payload

    @property
    def attempt(self) -> int:
        return self.job.attempts

    def stop(self, reason: str) -> None:
        """Called by the worker: the handler stops at its next check."""
        if self.stop_reason is None:
            self.stop_reason = reason
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set() or time.monotonic() >= self.deadline

    def check(self) -> None:
        """Raise if the job was cancelled, timed out or taken back; return otherwise."""
        if time.monotonic() >= self.deadline and self.stop_reason is None:
            self.stop(self.TIMED_OUT)
        if self.stop_reason == self.CANCELLED:
            raise JobCancelled("Cancelled while running")
        if self.stop_reason == self.TIMED_OUT:
            raise JobTimedOut("Timed out")
        if self.stop_reason in (self.LOST, self.SHUTDOWN):
            raise JobLost(f"Stopped: {self.stop_reason}")

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake for a cancellation or the deadline, and check on waking."""
        end = time.monotonic() + max(0.0, seconds)
        while True:
            self.check()
            remaining = min(end, self.deadline) - time.monotonic()
            if remaining <= 0 and time.monotonic() >= end:
                return
            self._stop.wait(max(0.0, min(remaining, 0.5)))

    def progress(self, percent: int, step: str = "") -> None:
        """Record how far the job is (0–100) and what it is doing now; checks for a stop."""
        self.check()
        self.job.set_progress(percent, step)

    def add_usage(self, usage: dict[str, int]) -> None:
        """Add the token usage of one AI call to the job."""
        self.job.add_usage(usage)

    def hold_queue(self, seconds: float, reason: str) -> None:
        """Hold this job's queue on every worker for ``seconds`` (an AI provider's
        ``Retry-After``, an outage) and put this job back without using up an attempt.
        Never returns: it raises :class:`~jobs.exceptions.QueueHeld`."""
        raise QueueHeld(seconds, reason)

    def on_success(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` inside the transaction that marks the job succeeded.

        It runs only if this attempt still holds the job, so rows it writes exist exactly once
        even when a frozen worker comes back after another one finished the job.
        """
        self._on_success.append(callback)
