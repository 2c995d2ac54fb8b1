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
) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of job type ``name``."""

    def decorator(func: Handler) -> Handler:
        _registry[name] = JobType(
            name=name,
            handler=func,
            validate=validate,
            queue=queue,
            max_attempts=max_attempts,
            timeout=timeout,
            cost=cost,
            description=(func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else "",
        )
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
