"""What the queue tells the rest of the project: six hooks, each sent INSIDE the database
transaction of the transition, with the jobs (already saved in their new state).

    from jobs import hooks

    @hooks.succeeded.connect(job_types={"transcribe"})
    def on_done(*, jobs):
        ...

A receiver that raises rolls the transition back; the exception reaches the caller.
:meth:`Hook.wants` lets the worker skip all hook work for a job type nobody listens to.

NOTE(briefs branch): a minimal implementation of the contract in
``/work/notes/hooks-contract.md`` so the briefs receivers can be tested; the lead's
``jobs/hooks.py`` replaces it at merge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobs.models import Job

Receiver = Callable[..., Any]


class Hook:
    def __init__(self, name: str) -> None:
        self.name = name
        self._receivers: list[tuple[Receiver, frozenset[str] | None]] = []

    def __repr__(self) -> str:
        return f"<Hook {self.name}>"

    def connect(
        self, receiver: Receiver | None = None, *, job_types: Iterable[str] | None = None
    ) -> Any:
        """Connect ``receiver`` (also usable as a decorator, with or without ``job_types``)."""
        if receiver is None:
            return lambda func: self.connect(func, job_types=job_types)
        self.disconnect(receiver)
        types = frozenset(job_types) if job_types is not None else None
        self._receivers.append((receiver, types))
        return receiver

    def disconnect(self, receiver: Receiver) -> None:
        self._receivers = [item for item in self._receivers if item[0] is not receiver]

    def wants(self, job_type: str) -> bool:
        return any(types is None or job_type in types for _, types in self._receivers)

    def send(self, jobs: Iterable[Job]) -> None:
        """Called by the queue inside the transition's transaction."""
        jobs = list(jobs)
        if not jobs:
            return
        for receiver, types in list(self._receivers):
            chosen = jobs if types is None else [job for job in jobs if job.type in types]
            if chosen:
                receiver(jobs=chosen)


enqueued = Hook("enqueued")
started = Hook("started")
succeeded = Hook("succeeded")
failed = Hook("failed")
cancelled = Hook("cancelled")
requeued = Hook("requeued")
