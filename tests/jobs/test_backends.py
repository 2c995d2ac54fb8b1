"""jobs.backends.JobsBackend against Django's Tasks contract (docs: topics/tasks)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command
from django.db import transaction
from django.tasks import TaskResultStatus, default_task_backend, task_backends
from django.tasks.exceptions import InvalidTask, TaskResultDoesNotExist, TaskResultMismatch
from django.tasks.signals import task_enqueued, task_finished, task_started
from django.utils import timezone

from jobs import services
from jobs.backends import TASK_JOB_TYPE, JobsBackend
from jobs.models import Job
from tests import tasks
from tests.conftest import wait_for

BACKEND = "jobs.backends.JobsBackend"


def run_ready_jobs() -> None:
    call_command("runworker", "--burst", "--concurrency", "1", "--poll-interval", "0.05")


def test_the_project_uses_the_jobs_backend():
    backend = task_backends["default"]
    assert isinstance(backend, JobsBackend)
    assert backend.supports_defer and backend.supports_get_result
    assert backend.supports_priority and backend.supports_async_task


@pytest.mark.django_db
def test_enqueue_creates_a_ready_job_with_our_priority_queue_and_run_at():
    sent = []
    task_enqueued.connect(lambda sender, task_result, **kw: sent.append(task_result), weak=False)
    try:
        result = tasks.echo.enqueue(1, "two", three=(3,))
    finally:
        task_enqueued.receivers.clear()

    job = Job.objects.get(pk=int(result.id))
    assert job.type == TASK_JOB_TYPE
    assert (job.priority, job.queue) == (7, "default")
    assert job.payload["task"] == "tests.tasks.echo"
    assert job.payload["args"] == [1, "two"]
    assert job.payload["kwargs"] == {"three": [3]}
    assert result.status == TaskResultStatus.READY
    assert result.enqueued_at == job.created_at
    assert result.started_at is None and result.finished_at is None
    assert result.args == [1, "two"] and result.kwargs == {"three": [3]}
    assert result.backend == "default"
    assert result.errors == [] and result.attempts == 0
    assert result.task.func is tasks.echo.func
    assert [r.id for r in sent] == [result.id]
    with pytest.raises(ValueError, match="not finished"):
        _ = result.return_value


@pytest.mark.django_db
def test_using_maps_priority_queue_and_run_after(settings):
    settings.TASKS = {"default": {"BACKEND": BACKEND, "QUEUES": ["default", "reports"]}}
    later = timezone.now() + timedelta(hours=1)

    result = tasks.add.using(priority=-20, queue_name="reports", run_after=later).enqueue(1, 2)

    job = Job.objects.get(pk=int(result.id))
    assert (job.priority, job.queue, job.run_at) == (-20, "reports", later)
    read = tasks.add.get_result(result.id)
    assert read.task.priority == -20
    assert read.task.queue_name == "reports"
    assert read.task.run_after == later


@pytest.mark.django_db
def test_results_stay_readable_after_the_queues_setting_changed(settings):
    settings.TASKS = {"default": {"BACKEND": BACKEND, "QUEUES": ["default", "reports"]}}
    result = tasks.add.using(queue_name="reports").enqueue(1, 2)
    settings.TASKS = {"default": {"BACKEND": BACKEND}}

    assert tasks.add.get_result(result.id).status == TaskResultStatus.READY


@pytest.mark.django_db
def test_a_result_whose_task_is_gone_does_not_exist():
    job = services.enqueue(TASK_JOB_TYPE, {"task": "tests.tasks.no_such_task"})

    with pytest.raises(TaskResultDoesNotExist, match="Cannot import"):
        default_task_backend.get_result(str(job.pk))


@pytest.mark.django_db
def test_queues_are_checked_as_django_documents(settings):
    with pytest.raises(InvalidTask, match="Queue 'reports' is not valid"):
        tasks.add.using(queue_name="reports").enqueue(1, 2)
    settings.TASKS = {"default": {"BACKEND": BACKEND, "QUEUES": []}}
    assert tasks.add.using(queue_name="anything").enqueue(1, 2).status == TaskResultStatus.READY


@pytest.mark.django_db
def test_bad_arguments_write_nothing():
    with pytest.raises(TypeError):
        tasks.add.enqueue(object(), 2)
    with pytest.raises(InvalidTask):
        tasks.add.using(priority=101)
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_get_result_of_unknown_ids():
    job = services.enqueue("noop", {})
    for result_id in ("999999", "nope", str(job.pk)):
        with pytest.raises(TaskResultDoesNotExist):
            default_task_backend.get_result(result_id)
    result = tasks.add.enqueue(1, 2)
    with pytest.raises(TaskResultMismatch):
        tasks.echo.get_result(result.id)


@pytest.mark.django_db
def test_enqueue_respects_the_callers_transaction():
    with pytest.raises(RuntimeError), transaction.atomic():
        result = tasks.add.enqueue(1, 2)
        assert Job.objects.filter(pk=int(result.id)).exists()
        raise RuntimeError("roll back")

    assert not Job.objects.exists()
    with pytest.raises(TaskResultDoesNotExist):
        tasks.add.get_result(result.id)


@pytest.mark.django_db(transaction=True)
def test_runworker_runs_the_task_and_get_result_reads_it_back():
    events = []
    task_started.connect(lambda sender, task_result, **kw: events.append("started"), weak=False)
    task_finished.connect(
        lambda sender, task_result, **kw: events.append(("finished", task_result.status)),
        weak=False,
    )
    try:
        result = tasks.add.enqueue(2, 3)
        run_ready_jobs()
    finally:
        task_started.receivers.clear()
        task_finished.receivers.clear()

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 5
    assert result.is_finished
    assert result.attempts == 1
    assert len(result.worker_ids) == 1
    assert result.started_at <= result.last_attempted_at <= result.finished_at
    assert result.errors == []
    assert events == ["started", ("finished", TaskResultStatus.SUCCESSFUL)]


@pytest.mark.django_db(transaction=True)
def test_a_task_with_context_sees_its_result_and_attempt():
    result = tasks.whoami.enqueue("x")
    run_ready_jobs()

    assert tasks.whoami.get_result(result.id).return_value == {
        "id": result.id,
        "attempt": 1,
        "tag": "x",
    }


@pytest.mark.django_db(transaction=True)
def test_async_tasks_run_too():
    result = tasks.async_double.enqueue(21)
    run_ready_jobs()

    assert tasks.async_double.get_result(result.id).return_value == 42


@pytest.mark.django_db(transaction=True)
def test_errors_of_every_attempt_with_class_paths(settings):
    settings.TASKS = {"default": {"BACKEND": BACKEND, "OPTIONS": {"MAX_ATTEMPTS": 2}}}
    finished = []
    task_finished.connect(
        lambda sender, task_result, **kw: finished.append(task_result), weak=False
    )
    try:
        result = tasks.explode.enqueue("kaboom")
        first = tasks.divide.enqueue(1, 0)

        def all_failed():
            run_ready_jobs()
            return Job.objects.filter(status=Job.Status.FAILED).count() == 2

        wait_for(all_failed, timeout=30)
    finally:
        task_finished.receivers.clear()

    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.attempts == 2
    assert [e.exception_class_path for e in result.errors] == ["tests.tasks.TaskBoom"] * 2
    assert result.errors[0].exception_class is tasks.TaskBoom
    assert "kaboom" in result.errors[-1].traceback
    assert "Traceback (most recent call last)" in result.errors[-1].traceback
    with pytest.raises(ValueError, match="failed"):
        _ = result.return_value

    division = tasks.divide.get_result(first.id)
    assert [e.exception_class for e in division.errors] == [ZeroDivisionError] * 2
    # task_finished is sent once per task, after its last attempt.
    assert sorted(r.id for r in finished) == sorted([result.id, first.id])
    assert {r.status for r in finished} == {TaskResultStatus.FAILED}


@pytest.mark.django_db(transaction=True)
def test_a_failed_attempt_that_will_be_retried_reads_as_ready():
    result = tasks.divide.enqueue(1, 0)
    call_command("runworker", "--max-jobs", "1", "--concurrency", "1")

    result.refresh()
    assert result.status == TaskResultStatus.READY
    assert result.attempts == 1
    assert [e.exception_class_path for e in result.errors] == ["builtins.ZeroDivisionError"]


@pytest.mark.django_db
def test_a_cancelled_job_reads_as_failed():
    result = tasks.add.enqueue(1, 2)
    Job.objects.get(pk=int(result.id)).cancel()

    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert [e.exception_class_path for e in result.errors] == ["jobs.exceptions.JobCancelled"]


@pytest.mark.django_db(transaction=True)
def test_async_enqueue_and_get_result():
    result = async_to_sync(tasks.add.aenqueue)(4, 4)
    run_ready_jobs()

    assert async_to_sync(tasks.add.aget_result)(result.id).return_value == 8


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_runworker_process_runs_tasks(start_worker):
    result = tasks.echo.enqueue("hello", n=1)
    worker = start_worker("--burst", "--poll-interval", "0.05")
    assert worker.wait(60) == 0, worker.output()

    assert tasks.echo.get_result(result.id).return_value == {"args": ["hello"], "kwargs": {"n": 1}}
