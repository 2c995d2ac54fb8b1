"""Exceptions that handlers raise and callers catch."""

from __future__ import annotations

from datetime import datetime


class JobError(Exception):
    """Base class of the queue's own errors."""


class UnknownJobType(JobError, ValueError):
    def __init__(self, name: str, known: list[str]) -> None:
        shown = name if len(name) <= 100 else f"{name[:100]}…"
        super().__init__(f"Unknown job type {shown!r}. Known types: {', '.join(known) or 'none'}.")
        self.name = name


class InvalidPayload(JobError, ValueError):
    """The payload cannot be used by the job type's handler; the message says why."""


class PermanentError(JobError):
    """Raised by a handler when retrying cannot help: the job fails at once."""


class JobCancelled(JobError):
    """Raised inside a handler at its next check after staff cancelled the job."""


class JobTimedOut(JobError):
    """Raised inside a handler at its next check after the attempt ran past its timeout."""


class JobLost(JobError):
    """Raised inside a handler whose job was taken back by another worker (lease expired)."""


class JobHeld(JobError):
    """Raised by a handler (or what it calls) when the job must wait for something outside
    it, for example a spending cap: the attempt is given back without counting, the job returns
    to the queue with ``held_reason`` set, and runs again at ``until`` (or after
    ``JOBS_HELD_RECHECK_SECONDS``), or sooner when :meth:`JobQuerySet.resume_held` wakes it."""

    def __init__(self, reason: str, *, until: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.until = until


class EnqueueRefused(JobError):
    """A hook receiver refused to let jobs be enqueued or requeued (for example: not enough
    credits). Nothing was written. The message is for the person who asked; ``http_status`` is
    what an HTTP API should answer, ``code`` a short machine-readable name."""

    http_status = 409
    code = "enqueue_refused"


class QueueHeld(JobError):
    """Raised by a handler (or through ``ctx.hold_queue``) when its job's queue must wait:
    the AI provider answered 429 with ``Retry-After``, or it is down. Every worker stops
    taking jobs of that queue for ``seconds``, and this job goes back to the queue without
    losing an attempt."""

    MAX_SECONDS = 24 * 3600.0

    def __init__(self, seconds: float, reason: str) -> None:
        self.seconds = max(1.0, min(float(seconds), self.MAX_SECONDS))
        self.reason = reason[:500]
        super().__init__(f"Queue held for {self.seconds:g}s: {self.reason}")
