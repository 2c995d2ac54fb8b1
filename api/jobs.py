"""``/api/jobs``: list, inspect, start, cancel and requeue jobs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from django.db.models import Count
from django.http import HttpRequest
from django.utils import timezone
from ninja import Body, Field, Query, Router, Schema
from ninja.responses import Status

from api import access, health
from api.errors import COMMON_ERRORS, ApiError, ErrorOut, require_object_body
from api.schemas import MAX_ID, Id, JobListOut, JobOut, JobStartIn, JobStartOut, TypeName
from briefs import selectors
from briefs import services as brief_services
from briefs.models import Brief
from jobs import registry, services
from jobs.backends import TASK_JOB_TYPE
from jobs.exceptions import UnknownJobType
from jobs.models import Job

router = Router(tags=["jobs"])

#: Job types that exist for the framework's own use and are never started through the API.
INTERNAL_TYPES = frozenset({TASK_JOB_TYPE})

RUNNING_POLL_SECONDS = 1.0
QUEUED_POLL_SECONDS = 2.0
MAX_POLL_SECONDS = 60.0


def status_url(job_id: int) -> str:
    return f"/api/jobs/{job_id}"


def poll_after(job: Job) -> float | None:
    """How long a client should wait before asking about ``job`` again."""
    if job.is_finished:
        return None
    if job.status == Job.Status.RUNNING:
        return RUNNING_POLL_SECONDS
    wait = (job.run_at - timezone.now()).total_seconds()
    return round(min(max(wait, QUEUED_POLL_SECONDS), MAX_POLL_SECONDS), 1)


def job_out(job: Job) -> dict[str, Any]:
    return {
        "id": job.pk,
        "type": job.type,
        "queue": job.queue,
        "priority": job.priority,
        "status": job.status,
        "progress": job.progress,
        "current_step": job.current_step,
        "result": job.result,
        "error": job.error,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "cancel_requested": job.cancel_requested,
        "usage": job.usage or {},
        "created_at": job.created_at,
        "run_at": job.run_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "brief_id": selectors.brief_id_of(job),
        "depends_on_id": job.depends_on_id,
        "status_url": status_url(job.pk),
        "poll_after": poll_after(job),
    }


class JobListParams(Schema):
    action: Literal["recent", "pending", "active", "stats", "by_brief"] = "recent"
    brief_id: Id | None = Field(None, description="Required with action=by_brief")
    type: TypeName | None = Field(None, description="Only jobs of this type")
    limit: int = Field(50, ge=1, le=200)


def _stats(jobs: Any) -> dict[str, Any]:
    by_status = dict.fromkeys(Job.Status.values, 0)
    by_type: dict[str, dict[str, int]] = {}
    for row in jobs.order_by().values("type", "status").annotate(n=Count("id")):
        by_status[row["status"]] += row["n"]
        by_type.setdefault(row["type"], dict.fromkeys(Job.Status.values, 0))[row["status"]] = row[
            "n"
        ]
    return {"total": sum(by_status.values()), "by_status": by_status, "by_type": by_type}


@router.get("", response={200: JobListOut, **COMMON_ERRORS, 404: ErrorOut})
def list_jobs(request: HttpRequest, params: Query[JobListParams]) -> Any:
    """Jobs the caller may see.

    - `recent` (default): newest first
    - `pending`: waiting to run, in the order workers take them
    - `active`: running now
    - `stats`: how many jobs in each status, overall and per type
    - `by_brief`: the jobs of one brief (`brief_id`), in the order they were created
    """
    user = request.auth  # type: ignore[attr-defined]
    jobs = access.visible_jobs(user)
    if params.type:
        jobs = jobs.filter(type=params.type)
    if params.action == "stats":
        return {"action": "stats", "count": 0, "jobs": [], "stats": _stats(jobs)}
    if params.action == "pending":
        jobs = jobs.filter(status=Job.Status.QUEUED).order_by("-priority", "run_at", "id")
    elif params.action == "active":
        jobs = jobs.filter(status=Job.Status.RUNNING).order_by("started_at", "id")
    elif params.action == "by_brief":
        if params.brief_id is None:
            raise ApiError(
                422,
                "invalid_request",
                "brief_id is required with action=by_brief.",
                field="brief_id",
                location="query",
            )
        brief = access.get_visible(Brief.objects.all(), user, params.brief_id, what="Brief")
        jobs = selectors.brief_jobs(brief=brief)
    else:
        jobs = jobs.order_by("-created_at", "-id")
    rows = [job_out(job) for job in selectors.with_brief_id(jobs)[: params.limit]]
    return {"action": params.action, "count": len(rows), "jobs": rows, "stats": None}


@router.get("/health", auth=None, include_in_schema=False)
def health_alias(request: HttpRequest) -> Any:
    """The earlier system's name of ``GET /api/health``."""
    return health.health(request)


@router.get("/{job_id}", response={200: JobOut, **COMMON_ERRORS, 404: ErrorOut})
def get_job(request: HttpRequest, job_id: Id) -> Any:
    """A job's status, progress, current step, result or error, and when to ask again."""
    return job_out(access.get_job(request.auth, job_id))  # type: ignore[attr-defined]


@router.get("/{type}/status/{job_id}", response={200: JobOut, **COMMON_ERRORS, 404: ErrorOut})
def get_job_of_type(request: HttpRequest, type: TypeName, job_id: Id) -> Any:
    """The earlier system's status URL: like `GET /api/jobs/{job_id}`, for a job of `type`."""
    job = access.get_job(request.auth, job_id)  # type: ignore[attr-defined]
    if job.type != type:
        raise ApiError(404, "not_found", f"Job #{job_id} not found.")
    return job_out(job)


@router.post(
    "/{type}/start",
    response={
        202: JobStartOut,
        **COMMON_ERRORS,
        402: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        429: ErrorOut,
    },
)
def start_job(request: HttpRequest, type: str, data: Body[JobStartIn | None] = None) -> Any:
    """Enqueue a job of any registered type. The payload is validated by the type before
    anything is written; the answer says where to poll."""
    user = request.auth  # type: ignore[attr-defined]
    require_object_body(request)
    data = data or JobStartIn.model_validate({})
    if type in INTERNAL_TYPES:
        raise UnknownJobType(
            type, [name for name in registry.names() if name not in INTERNAL_TYPES]
        )
    registry.get(type)
    if data.priority is not None and not access.is_staff(user):
        raise ApiError(403, "forbidden", "Only staff may set a priority.", field="priority")
    if data.queue is not None and not access.is_staff(user):
        raise ApiError(403, "forbidden", "Only staff may choose a queue.", field="queue")
    brief = _payload_brief(user, data.payload)
    with access.job_limit(user):
        job = services.enqueue(
            type,
            data.payload,
            queue=data.queue,
            priority=data.priority or 0,
            delay=timedelta(seconds=data.delay) if data.delay else None,
            unique_key=data.unique_key,
            owner=user,
        )
        if (
            brief is not None
            and job.type in brief_services.BRIEF_JOB_TYPES
            and job.owner_id == user.pk
            and selectors.brief_id_of(job) is None
        ):
            # The job works for the brief: the brief links it (status, outputs) in the same
            # transaction as the enqueue.
            brief_services.brief_link_jobs(brief=brief, jobs=[job])
    if job.owner_id != user.pk and not access.is_staff(user):
        # The unique key is held by someone else's job: never show it.
        raise ApiError(
            409,
            "duplicate",
            "Another job with this unique_key is waiting or running.",
            field="unique_key",
        )
    return Status(
        202,
        {
            "job_id": job.pk,
            "status": job.status,
            "status_url": status_url(job.pk),
            "poll_after": poll_after(job),
        },
    )


def _payload_brief(user: Any, payload: dict[str, Any]) -> Brief | None:
    """A payload naming a brief must name one the caller may see; the job is then the brief's."""
    if "brief_id" not in payload:
        return None
    brief_id = payload["brief_id"]
    if isinstance(brief_id, bool) or not isinstance(brief_id, int) or not 1 <= brief_id <= MAX_ID:
        raise ApiError(
            422,
            "invalid_payload",
            f"brief_id must be the id of one of your briefs, not {str(brief_id)[:50]!r}.",
            field="payload.brief_id",
        )
    return access.get_visible(Brief.objects.all(), user, brief_id, what="Brief")


@router.post(
    "/{job_id}/cancel", response={200: JobOut, **COMMON_ERRORS, 404: ErrorOut, 409: ErrorOut}
)
def cancel_job(request: HttpRequest, job_id: Id) -> Any:
    """Cancel a queued job at once; a running one stops at its handler's next check
    (`cancel_requested` becomes true)."""
    job = access.get_job(request.auth, job_id)  # type: ignore[attr-defined]
    if not job.cancel(reason="Cancelled through the API"):
        job.refresh_from_db()
        raise ApiError(
            409, "conflict", f"Job #{job.pk} has already {job.status}; nothing to cancel."
        )
    job.refresh_from_db()
    return job_out(job)


@router.post(
    "/{job_id}/requeue", response={200: JobOut, **COMMON_ERRORS, 404: ErrorOut, 409: ErrorOut}
)
def requeue_job(request: HttpRequest, job_id: Id) -> Any:
    """Staff only: put a failed or cancelled job back in the queue with fresh attempts."""
    user = request.auth  # type: ignore[attr-defined]
    access.require_staff(user, "requeue jobs")
    job = access.get_job(user, job_id)
    if not job.requeue():
        raise ApiError(
            409,
            "conflict",
            f"Only failed or cancelled jobs can be requeued; job #{job.pk} is {job.status}.",
        )
    return job_out(job)
