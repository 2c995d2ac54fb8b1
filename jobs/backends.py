"""A real backend for Django's Tasks framework: every ``@task`` becomes a :class:`~jobs.models.Job`.

    TASKS = {"default": {"BACKEND": "jobs.backends.JobsBackend"}}

    @task(priority=10, queue_name="default")
    def send_report(user_id: int) -> dict: ...

    result = send_report.enqueue(42)          # a Job row, in the caller's transaction
    send_report.get_result(result.id).status  # READY, RUNNING, SUCCESSFUL or FAILED

``runworker`` runs the job through the ``django_task`` handler below, so a task gets the queue's
leases, timeouts, retries with backoff, cancellation, admin and dashboard like any other job.

How Django's terms map onto ours:

- ``priority`` (-100…100, higher first) is the job's priority; ``queue_name`` is its queue
  (the backend's ``QUEUES`` option lists the allowed ones, ``["default"]`` when not given, any
  queue when empty, as Django documents); ``run_after`` is its ``run_at``.
- Status: queued -> ``READY`` (also while waiting to retry), running -> ``RUNNING``,
  succeeded -> ``SUCCESSFUL``, failed and cancelled -> ``FAILED``.
- ``errors`` has one ``TaskError`` per failed attempt (a cancellation adds one for
  ``jobs.exceptions.JobCancelled``). The last failure carries its full traceback; earlier
  attempts carry their error line (the queue keeps one traceback per job).
- ``worker_ids`` (and so ``attempts``) lists the worker of each attempt; an attempt given back
  at a worker's shutdown does not count, as it does not count for the job.
- ``OPTIONS``: ``MAX_ATTEMPTS`` (default: ``JOBS_DEFAULT_MAX_ATTEMPTS``; 1 means no retry) and
  ``TIMEOUT`` in seconds (default: ``JOBS_DEFAULT_TIMEOUT``).

``enqueue`` writes in the caller's transaction: if it rolls back, the job never existed, and a
worker cannot start it before the commit.
"""

from __future__ import annotations

import builtins
import contextlib
import re
import traceback
from importlib import import_module
from typing import Any

from django.tasks import Task, TaskContext, TaskResult, TaskResultStatus
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.base import TaskError
from django.tasks.exceptions import InvalidTask, InvalidTaskBackend, TaskResultDoesNotExist
from django.tasks.signals import task_enqueued, task_finished, task_started
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.json import normalize_json
from django.utils.module_loading import import_string

from jobs import services
from jobs.context import JobContext
from jobs.exceptions import InvalidPayload, PermanentError
from jobs.models import Job, JobAttempt
from jobs.registry import register

TASK_JOB_TYPE = "django_task"

STATUS_MAP = {
    Job.Status.QUEUED: TaskResultStatus.READY,
    Job.Status.RUNNING: TaskResultStatus.RUNNING,
    Job.Status.SUCCEEDED: TaskResultStatus.SUCCESSFUL,
    Job.Status.FAILED: TaskResultStatus.FAILED,
    Job.Status.CANCELLED: TaskResultStatus.FAILED,
}
FAILED_OUTCOMES = (JobAttempt.Outcome.FAILED, JobAttempt.Outcome.LOST)
COUNTED_OUTCOMES = [o for o in JobAttempt.Outcome.values if o != JobAttempt.Outcome.RELEASED]


class JobsBackend(BaseTaskBackend):
    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self.max_attempts: int | None = self.options.get("MAX_ATTEMPTS")
        self.timeout: float | None = self.options.get("TIMEOUT")

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        self.validate_task(task)
        args, kwargs = normalize_json(list(args)), normalize_json(dict(kwargs))
        payload = {
            "task": task.module_path,
            "args": args,
            "kwargs": kwargs,
            "backend": self.alias,
            "takes_context": task.takes_context,
            "run_after": task.run_after.isoformat() if task.run_after else None,
        }
        job = services.enqueue(
            TASK_JOB_TYPE,
            payload,
            queue=task.queue_name,
            priority=task.priority,
            run_at=task.run_after,
            max_attempts=self.max_attempts,
            timeout=self.timeout,
        )
        result = task_result(job, task, attempts=[])
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> TaskResult:
        try:
            pk = int(result_id)
        except (TypeError, ValueError):
            raise TaskResultDoesNotExist(result_id) from None
        job = Job.objects.filter(pk=pk, type=TASK_JOB_TYPE).first()
        if job is None:
            raise TaskResultDoesNotExist(result_id)
        try:
            task = load_task(job.payload.get("task", ""))
        except PermanentError as exc:
            raise TaskResultDoesNotExist(f"{result_id}: {exc}") from None
        return task_result(job, task)


# --- reading a job as a TaskResult ----------------------------------------------------------


def load_task(path: str) -> Task:
    """The ``Task`` at ``path`` (a ``@task`` function's module path), or PermanentError."""
    try:
        task = import_string(path)
    except (ImportError, TypeError, ValueError) as exc:
        raise PermanentError(f"Cannot import the task {path!r}: {exc}") from None
    if not isinstance(task, Task):
        raise PermanentError(f"{path!r} is not a @task function.")
    return task


def task_result(job: Job, task: Task, *, attempts: list[JobAttempt] | None = None) -> TaskResult:
    """The ``TaskResult`` of a ``django_task`` job as Django defines it."""
    payload = job.payload or {}
    if attempts is None:
        attempts = list(
            job.attempt_history.filter(outcome__in=COUNTED_OUTCOMES).order_by("number", "id")
        )
    run_after = parse_datetime(payload["run_after"]) if payload.get("run_after") else None
    # If the settings changed since it was enqueued, describe it with the task's defaults.
    with contextlib.suppress(InvalidTask, InvalidTaskBackend):
        task = task.using(
            priority=job.priority,
            queue_name=job.queue,
            run_after=run_after,
            backend=payload.get("backend") or task.backend,
        )
    result: TaskResult = TaskResult(
        task=task,
        id=str(job.pk),
        status=STATUS_MAP[Job.Status(job.status)],
        enqueued_at=job.created_at,
        started_at=attempts[0].started_at if attempts else None,
        finished_at=job.finished_at if job.is_finished else None,
        last_attempted_at=attempts[-1].started_at if attempts else None,
        args=payload.get("args", []),
        kwargs=payload.get("kwargs", {}),
        backend=payload.get("backend") or task.backend,
        errors=task_errors(job, attempts, task),
        worker_ids=[attempt.worker_id for attempt in attempts],
    )
    if job.status == Job.Status.SUCCEEDED:
        object.__setattr__(result, "_return_value", job.result)
    return result


def task_errors(job: Job, attempts: list[JobAttempt], task: Task) -> list[TaskError]:
    failed = [attempt for attempt in attempts if attempt.outcome in FAILED_OUTCOMES]
    errors = []
    for index, attempt in enumerate(failed):
        is_last = index == len(failed) - 1 and job.status != Job.Status.SUCCEEDED
        text = job.traceback if is_last and job.traceback else attempt.error
        path = exception_class_path(attempt.error, job.traceback, task)
        errors.append(TaskError(exception_class_path=path, traceback=text))
    if job.status == Job.Status.CANCELLED:
        errors.append(
            TaskError(exception_class_path="jobs.exceptions.JobCancelled", traceback=job.error)
        )
    return errors


_NAME = re.compile(r"^[A-Za-z_][\w.]*$")


def exception_class_path(error: str, traceback: str, task: Task) -> str:
    """The dotted path of the exception behind a job's error line (``"ValueError: bad"``).

    The worker records ``ClassName: message``; the module comes from the traceback's last line
    for that class, from builtins, or from the task's own module, in that order."""
    if error.startswith("Timed out after"):
        return "jobs.exceptions.JobTimedOut"
    if error.startswith("Lease expired"):
        return "jobs.exceptions.JobLost"
    name = error.split(":", 1)[0].strip()
    if not _NAME.match(name):
        return "builtins.Exception"
    if "." in name:
        return name
    line = re.compile(rf"^((?:[\w]+\.)*){re.escape(name)}(?::|$)", re.MULTILINE)
    matches = line.findall(traceback or "")
    if matches and matches[-1]:
        return f"{matches[-1]}{name}"
    found = getattr(builtins, name, None)
    if isinstance(found, type) and issubclass(found, BaseException):
        return f"builtins.{name}"
    module = import_module(task.func.__module__)
    found = getattr(module, name, None)
    if isinstance(found, type) and issubclass(found, BaseException):
        return f"{found.__module__}.{found.__qualname__}"
    return "builtins.Exception"


# --- running a task in the worker -------------------------------------------------------------


#: A dotted module path (``reports.tasks.send_report``): nothing relative, no file paths.
TASK_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")


def _validate(payload: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(payload.get("task"), str) or not TASK_PATH.fullmatch(payload["task"]):
        raise InvalidPayload('django_task needs {"task": "<module path of a @task function>"}.')
    if not isinstance(payload.get("args", []), list):
        raise InvalidPayload("args must be a list.")
    if not isinstance(payload.get("kwargs", {}), dict):
        raise InvalidPayload("kwargs must be an object.")
    return payload


@register(TASK_JOB_TYPE, validate=_validate)
def run_django_task(payload: dict[str, Any], ctx: JobContext) -> Any:
    """Run a Django ``@task`` (enqueued through jobs.backends.JobsBackend)."""
    task = load_task(payload["task"])
    job = ctx.job
    result = task_result(job, task)
    sender = type(task.get_backend())
    task_started.send(sender=sender, task_result=result)
    args, kwargs = payload.get("args", []), payload.get("kwargs", {})
    try:
        if payload.get("takes_context"):
            value = task.call(TaskContext(task_result=result), *args, **kwargs)
        else:
            value = task.call(*args, **kwargs)
        value = normalize_json(value)
    except Exception as exc:
        if job.attempts >= job.max_attempts:
            _finished(sender, result, exc)
        raise

    def succeeded() -> None:
        object.__setattr__(result, "status", TaskResultStatus.SUCCESSFUL)
        object.__setattr__(result, "_return_value", value)
        object.__setattr__(result, "finished_at", job.finished_at)
        task_finished.send(sender=sender, task_result=result)

    ctx.on_success(succeeded)
    return value


def _finished(sender: type, result: TaskResult, exc: BaseException) -> None:
    """Tell ``task_finished`` receivers about the last, failed attempt."""
    object.__setattr__(result, "status", TaskResultStatus.FAILED)
    object.__setattr__(result, "finished_at", timezone.now())
    result.errors.append(
        TaskError(
            exception_class_path=f"{type(exc).__module__}.{type(exc).__qualname__}",
            traceback="".join(traceback.format_exception(exc)),
        )
    )
    task_finished.send(sender=sender, task_result=result)
