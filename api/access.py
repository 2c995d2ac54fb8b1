"""Who sees and does what, with the same Django permissions as the admin.

A user sees only their own rows; seeing everyone's takes the model's ``view`` permission (what
the admin's list needs), and acting on someone else's job takes the permission of the admin
action that does the same (``jobs.cancel_job``, ``jobs.requeue_job``, ``jobs.prioritize_job``).
Being staff alone grants nothing here: a staff user without permissions is a user. A row the
caller may not see answers 404 exactly like one that does not exist."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet

from api import conf
from api.errors import ApiError, not_found
from jobs.models import Job

#: Starting any job type, on any queue, with no job limit: what the dashboard's enqueue form
#: needs. Without it only types marked ``user_startable`` may be started.
START_ANY = "jobs.add_job"


def can(user: Any, permission: str) -> bool:
    """Whether ``user`` (active) has ``permission``; superusers have every one."""
    return bool(getattr(user, "is_active", False) and user.has_perm(permission))


def view_permission(model: Any) -> str:
    return f"{model._meta.app_label}.view_{model._meta.model_name}"


def sees_all(user: Any, model: Any) -> bool:
    """Whether ``user`` may see every row of ``model``, not only their own."""
    return can(user, view_permission(model))


def visible_jobs(user: Any) -> QuerySet[Job]:
    return Job.objects.all() if sees_all(user, Job) else Job.objects.filter(owner=user)


def get_job(user: Any, job_id: int) -> Job:
    job = visible_jobs(user).filter(pk=job_id).first()
    if job is None:
        raise not_found(f"Job #{job_id}")
    return job


def visible(
    queryset: QuerySet[Any], user: Any, *, owner_field: str = "owner", part_of: Any = None
) -> QuerySet[Any]:
    """``queryset`` narrowed to the rows ``user`` may see. Rows that are ``part_of`` another
    model (a brief's outputs) are seen with that model's view permission."""
    if sees_all(user, part_of or queryset.model):
        return queryset
    return queryset.filter(**{owner_field: user})


def get_visible(
    queryset: QuerySet[Any],
    user: Any,
    pk: int,
    *,
    what: str,
    owner_field: str = "owner",
    part_of: Any = None,
) -> Any:
    row = visible(queryset, user, owner_field=owner_field, part_of=part_of).filter(pk=pk).first()
    if row is None:
        raise not_found(f"{what} #{pk}")
    return row


def require(user: Any, permission: str, action: str, *, field: str | None = None) -> None:
    """403 unless ``user`` has ``permission`` (the one the admin asks for the same action)."""
    if not can(user, permission):
        raise ApiError(
            403,
            "forbidden",
            f"You may not {action} (it needs the {permission} permission).",
            field=field,
        )


def require_for_owned(user: Any, row: Any, permission: str, action: str) -> None:
    """A user acts on their own rows freely; on anyone else's only with ``permission``."""
    if row.owner_id != getattr(user, "pk", None):
        require(user, permission, action)


@contextmanager
def job_limit(user: Any) -> Iterator[None]:
    """Enqueue inside this block: afterwards, if ``user`` has more than ``MAX_JOBS_PER_USER``
    jobs waiting or running because of it, answer 429 and roll everything back.

    The user's row is locked first, so two requests of one user cannot both slip under the
    limit (on SQLite every write transaction is serialised already). Users who may start any job
    (``jobs.add_job``) have no limit."""
    limit = conf.max_jobs_per_user()
    with transaction.atomic():
        if not limit or can(user, START_ANY):
            yield
            return
        list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))
        live = Job.objects.live().filter(owner=user)
        before = live.count()
        yield
        after = live.count()
        if after > limit and after > before:
            raise ApiError(
                429,
                "too_many_jobs",
                f"You have {before} job(s) waiting or running and this needs {after - before} "
                f"more; the limit is {limit} (MAX_JOBS_PER_USER). Wait for some to finish, or "
                "cancel some.",
                headers={"Retry-After": "30"},
            )
