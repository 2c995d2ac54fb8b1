"""``POST /api/cron/process-jobs``: for hosts without long-running processes, a scheduler calls
this URL and the request runs up to ``maxJobs`` ready jobs before it answers.

It takes no user login: the caller proves itself with the ``X-Webhook-Secret`` header, compared
in constant time with the ``WEBHOOK_SECRET`` setting. Without that setting the endpoint is
disabled (503); with a wrong or missing header it answers 401 and runs nothing.

The jobs run through the worker's own code path (claim, lease, timeout, retry): a burst
``WorkerProcess`` in a thread of its own, which stops when ``maxJobs`` were claimed or nothing
is ready.
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any

from django.db import connection
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from ninja import Body, Field, Router, Schema
from ninja.security.base import AuthBase
from pydantic import AfterValidator

from api import conf
from api.errors import ApiError, ErrorOut, require_object_body
from api.schemas import QUEUE_PATTERN, no_nul
from jobs.models import Job
from jobs.worker import WorkerProcess, default_worker_id

logger = logging.getLogger("api")
router = Router(tags=["cron"])

SECRET_HEADER = "X-Webhook-Secret"  # noqa: S105 - a header name, not a secret
QueueName = Annotated[str, Field(pattern=QUEUE_PATTERN), AfterValidator(no_nul)]


class WebhookSecret(AuthBase):
    openapi_type = "apiKey"
    openapi_in = "header"
    openapi_name = SECRET_HEADER

    def __call__(self, request: HttpRequest) -> Any:
        secret = conf.webhook_secret()
        if not secret:
            raise ApiError(
                503,
                "disabled",
                "The cron endpoint is disabled: the server has no WEBHOOK_SECRET set.",
            )
        given = request.headers.get(SECRET_HEADER, "")
        if not given or not constant_time_compare(given, secret):
            raise ApiError(
                401,
                "unauthenticated",
                f"Missing or wrong {SECRET_HEADER} header; nothing was run.",
                field=SECRET_HEADER,
                location="header",
            )
        return "cron"


class ProcessJobsIn(Schema):
    maxJobs: int = Field(10, ge=1, le=100, description="Run at most this many jobs")
    queues: list[QueueName] = Field(
        default_factory=list, max_length=20, description="Only these queues (default: all)"
    )


class ProcessJobsOut(Schema):
    processed: int = Field(description="Jobs claimed and run by this request")
    succeeded: int
    failed: int
    remaining: int = Field(description="Jobs still ready to run after this request")
    worker_id: str


def run_ready_jobs(*, max_jobs: int, queues: list[str]) -> WorkerProcess:
    """Run up to ``max_jobs`` ready jobs with a burst worker; returns it for its counters."""
    worker = WorkerProcess(
        queues=queues,
        concurrency=1,
        burst=True,
        max_jobs=max_jobs,
        listen=False,
        poll_interval=0.2,
        worker_id=f"cron-{default_worker_id()}",
    )

    def run() -> None:
        try:
            worker.run()
        except Exception as exc:
            logger.exception("cron worker=%s stopped with an error", worker.id)
            failures.append(exc)
        finally:
            connection.close()

    # A thread of its own: the worker's loop never touches the request's database connection
    # or transaction, and never installs signal handlers in a server's main thread.
    failures: list[Exception] = []
    thread = threading.Thread(target=run, name="cron-worker", daemon=True)
    thread.start()
    thread.join()
    if failures:
        # Not a 200 with "processed: 0": the caller must see that the run did not happen.
        raise ApiError(
            503,
            "unavailable",
            f"The run stopped with an error after {worker.claimed} job(s) "
            f"({type(failures[0]).__name__}); see the server log. Jobs it held are retried.",
        )
    return worker


@router.post(
    "/process-jobs",
    auth=WebhookSecret(),
    response={200: ProcessJobsOut, 401: ErrorOut, 422: ErrorOut, 400: ErrorOut, 503: ErrorOut},
)
def process_jobs(request: HttpRequest, data: Body[ProcessJobsIn | None] = None) -> Any:
    """Run up to `maxJobs` ready jobs inside this request, then report what happened."""
    require_object_body(request)
    options = data or ProcessJobsIn.model_validate({})
    max_jobs = min(options.maxJobs, conf.cron_max_jobs())
    worker = run_ready_jobs(max_jobs=max_jobs, queues=list(options.queues))
    remaining = Job.objects.ready(queues=options.queues or None).count()
    logger.info(
        "cron worker=%s processed=%s succeeded=%s failed=%s remaining=%s",
        worker.id,
        worker.claimed,
        worker.succeeded,
        worker.failed,
        remaining,
    )
    return {
        "processed": worker.claimed,
        "succeeded": worker.succeeded,
        "failed": worker.failed,
        "remaining": remaining,
        "worker_id": worker.id,
    }
