"""What the queue tells the rest of a project: six hooks, sent inside the transaction of the
transition they report.

    from jobs import hooks

    @hooks.succeeded.connect(job_types={"video_transcription"})
    def on_transcribed(*, jobs):
        ...

A receiver is called with one keyword argument, ``jobs``: the jobs (already in their new state)
of the types it asked for, or of every type when it gave no ``job_types``. What it writes commits
or rolls back with the transition. A receiver of :data:`enqueued` or :data:`requeued` refuses
by raising :class:`~jobs.exceptions.EnqueueRefused`: nothing is enqueued (or requeued) and the
caller gets that exception. See ``docs/hooks.md``.

The queue never imports the apps that listen. A job type that nobody listens for pays nothing:
the worker asks :meth:`Hook.wants` before it opens a transaction for a hook.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobs.models import Job

Receiver = Callable[..., Any]
# Which job types a receiver hears: all (None), a set of names, or a predicate on the name
# (e.g. "types that cost credits"), asked once per type and remembered.
Selector = frozenset[str] | Callable[[str], bool] | None


class Hook:
    """One event of a job's life. Receivers are kept strongly (connect module-level functions,
    usually from an ``AppConfig.ready()``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._receivers: list[tuple[Receiver, Selector]] = []
        self._lock = threading.Lock()
        self._wanted: dict[str, bool] = {}

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {len(self._receivers)} receivers>"

    def connect(
        self,
        receiver: Receiver | None = None,
        *,
        job_types: Iterable[str] | Callable[[str], bool] | None = None,
    ) -> Any:
        """Add ``receiver`` for ``job_types`` (names, or a predicate on a type's name; all
        types when omitted). Works as a decorator, with or without arguments. Connecting the
        same function again replaces its job types."""
        selector: Selector = (
            job_types if job_types is None or callable(job_types) else frozenset(job_types)
        )

        def add(func: Receiver) -> Receiver:
            with self._lock:
                kept = [(f, t) for f, t in self._receivers if f is not func]
                self._receivers = [*kept, (func, selector)]
                self._wanted = {}
            return func

        return add(receiver) if receiver is not None else add

    def disconnect(self, receiver: Receiver) -> bool:
        with self._lock:
            kept = [(f, t) for f, t in self._receivers if f is not receiver]
            removed = len(kept) != len(self._receivers)
            self._receivers = kept
            self._wanted = {}
        return removed

    def forget_types(self) -> None:
        """Ask the predicates again (the registry calls this when a job type is registered)."""
        self._wanted = {}

    @property
    def has_receivers(self) -> bool:
        return bool(self._receivers)

    def wants(self, job_type: str) -> bool:
        """Whether any receiver listens for jobs of ``job_type``."""
        wanted = self._wanted.get(job_type)
        if wanted is None:
            wanted = any(_hears(selector, job_type) for _, selector in self._receivers)
            self._wanted[job_type] = wanted
        return wanted

    def wants_any(self, job_types: Iterable[str]) -> bool:
        return any(self.wants(job_type) for job_type in job_types)

    def send(self, jobs: Sequence[Job]) -> None:
        """Call each receiver with the jobs of the types it listens for. Call it inside the
        transaction of the transition; an exception from a receiver propagates."""
        if not jobs or not self._receivers:
            return
        for receiver, selector in self._receivers:
            chosen = [job for job in jobs if _hears(selector, job.type)]
            if chosen:
                receiver(jobs=chosen)


def _hears(selector: Selector, job_type: str) -> bool:
    if selector is None:
        return True
    if isinstance(selector, frozenset):
        return job_type in selector
    return bool(selector(job_type))


def forget_types() -> None:
    for hook in ALL:
        hook.forget_types()


enqueued = Hook("enqueued")
"""New jobs were inserted. Receivers may refuse with :class:`~jobs.exceptions.EnqueueRefused`."""
started = Hook("started")
"""A worker claimed jobs: they are running their next attempt."""
succeeded = Hook("succeeded")
"""Jobs finished with a result."""
failed = Hook("failed")
"""Jobs failed for good: no attempt left, or an error that retrying cannot help."""
cancelled = Hook("cancelled")
"""Jobs were cancelled (queued ones at once, running ones when their attempt stopped)."""
requeued = Hook("requeued")
"""Failed or cancelled jobs were put back in the queue. Receivers may refuse, as for
:data:`enqueued`."""

ALL = (enqueued, started, succeeded, failed, cancelled, requeued)
