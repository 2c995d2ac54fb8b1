"""Exceptions that handlers raise and callers catch."""

from __future__ import annotations


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


class EnqueueRefused(JobError):
    """A hook receiver refused to let jobs be enqueued or requeued (for example: not enough
    credits). Nothing was written. The message is for the person who asked; ``http_status`` is
    what an HTTP API should answer, ``code`` a short machine-readable name."""

    http_status = 409
    code = "enqueue_refused"
