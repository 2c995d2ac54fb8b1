"""Django ``@task`` functions used by tests/jobs/test_backends.py (imported by workers too)."""

from __future__ import annotations

from django.tasks import TaskContext, task


class TaskBoom(Exception):
    """A task's own exception class."""


@task()
def add(a: int, b: int) -> int:
    return a + b


@task(priority=7, queue_name="default")
def echo(*args: object, **kwargs: object) -> dict:
    return {"args": list(args), "kwargs": kwargs}


@task()
def explode(message: str) -> None:
    raise TaskBoom(message)


@task()
def divide(a: int, b: int) -> float:
    return a / b


@task(takes_context=True)
def whoami(context: TaskContext, tag: str) -> dict:
    return {"id": context.task_result.id, "attempt": context.attempt, "tag": tag}


@task()
async def async_double(n: int) -> int:
    return n * 2
