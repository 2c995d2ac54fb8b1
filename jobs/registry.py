"""The handler registry: a handler is a plain function registered under a job type name.

    @register("noop")
    def noop(payload, ctx):
        return payload

A handler gets the job's payload (a dict) and its :class:`~jobs.context.JobContext`, and returns
JSON-able data that becomes the job's result. ``validate`` cleans a payload before anything is
written, so bad input is refused at enqueue time with a message a person understands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobs import hooks
from jobs.exceptions import UnknownJobType

if TYPE_CHECKING:
    from jobs.context import JobContext

Handler = Callable[[dict[str, Any], "JobContext"], Any]
Validator = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class JobType:
    name: str
    handler: Handler
    validate: Validator | None = None
    queue: str = "default"
    max_attempts: int | None = None
    timeout: float | None = None
    cost: int = 0
    description: str = ""
    #: Whether any user may start it through an API (else only users who may start any job).
    user_startable: bool = False
    schedule: str | None = None  # a cron expression: the type also runs on its own
    tz: str = "UTC"

    def clean(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.validate(payload) if self.validate else payload


_registry: dict[str, JobType] = {}


def register(
    name: str,
    *,
    validate: Validator | None = None,
    queue: str = "default",
    max_attempts: int | None = None,
    timeout: float | None = None,
    cost: int = 0,
    user_startable: bool = False,
    schedule: str | None = None,
    tz: str = "UTC",
) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of job type ``name``.

    ``user_startable`` marks a type any user may start through an API (its payload validated
    and its cost charged); the others (test work like ``noop`` and ``sleep``, internal steps)
    are started by code, or by users allowed to start any job. With ``schedule`` (a cron
    expression, read in time zone ``tz``) the type is also enqueued with an empty payload at
    every tick (see :func:`periodic` for a payload or a name)."""

    def decorator(func: Handler) -> Handler:
        _registry[name] = JobType(
            name=name,
            handler=func,
            validate=validate,
            queue=queue,
            max_attempts=max_attempts,
            timeout=timeout,
            cost=cost,
            user_startable=user_startable,
            description=(func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else "",
            schedule=schedule,
            tz=tz,
        )
        if schedule:
            periodic(name, name, cron=schedule, tz=tz, queue=queue)
        hooks.forget_types()  # receivers that choose types by a predicate are asked again
        return func

    return decorator


def get(name: str) -> JobType:
    try:
        return _registry[name]
    except KeyError:
        raise UnknownJobType(name, names()) from None


def names() -> list[str]:
    return sorted(_registry)


def all_types() -> list[JobType]:
    return [_registry[name] for name in names()]


@dataclass(frozen=True)
class Periodic:
    """A schedule declared in code; ``jobs.schedules.sync_code_schedules`` keeps its row."""

    name: str
    job_type: str
    cron: str
    tz: str = "UTC"
    payload: dict[str, Any] | None = None
    queue: str = ""
    missed: str = "once"  # "once": after downtime, run a missed tick once; "skip": skip it


_periodic: dict[str, Periodic] = {}


def periodic(
    name: str,
    job_type: str,
    *,
    cron: str,
    tz: str = "UTC",
    payload: dict[str, Any] | None = None,
    queue: str = "",
    missed: str = "once",
) -> Periodic:
    """Declare that ``job_type`` is enqueued with ``payload`` at every tick of ``cron``."""
    from jobs import cron as cron_expressions

    cron_expressions.check(cron)
    cron_expressions.zone(tz)
    if missed not in ("once", "skip"):
        raise ValueError(f"missed must be 'once' or 'skip', not {missed!r}")
    declared = Periodic(name, job_type, cron, tz, payload, queue, missed)
    _periodic[name] = declared
    return declared


def forget_periodic(name: str) -> None:
    _periodic.pop(name, None)


def periodic_schedules() -> list[Periodic]:
    return [_periodic[name] for name in sorted(_periodic)]
