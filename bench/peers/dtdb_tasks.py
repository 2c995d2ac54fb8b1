"""The benchmark's tasks for django-tasks-db."""

from __future__ import annotations

from django.tasks import task

from bench import calls


@task
def noop(key: int) -> int:
    return key


@task
def http(key: int) -> int:
    return calls.chat_call()


@task
def stamp(key: int) -> None:
    calls.stamp(key)
