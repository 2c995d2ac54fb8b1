"""Who sees what: a user sees only their own rows, staff see everything, and a row the caller
may not see answers 404 exactly like one that does not exist."""

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


def is_staff(user: Any) -> bool:
    return bool(getattr(user, "is_staff", False))


def visible_jobs(user: Any) -> QuerySet[Job]:
    return Job.objects.all() if is_staff(user) else Job.objects.filter(owner=user)


def get_job(user: Any, job_id: int) -> Job:
    job = visible_jobs(user).filter(pk=job_id).first()
    if job is None:
        raise not_found(f"Job #{job_id}")
    return job


def visible(queryset: QuerySet[Any], user: Any, *, owner_field: str = "owner") -> QuerySet[Any]:
    """``queryset`` narrowed to the rows ``user`` may see."""
    return queryset if is_staff(user) else queryset.filter(**{owner_field: user})


def get_visible(
    queryset: QuerySet[Any], user: Any, pk: int, *, what: str, owner_field: str = "owner"
) -> Any:
    row = visible(queryset, user, owner_field=owner_field).filter(pk=pk).first()
    if row is None:
        raise not_found(f"{what} #{pk}")
    return row


def require_staff(user: Any, action: str) -> None:
    if not is_staff(user):
        raise ApiError(403, "forbidden", f"Only staff may {action}.")


@contextmanager
def job_limit(user: Any) -> Iterator[None]:
    """Enqueue inside this block: afterwards, if ``user`` has more than ``MAX_JOBS_PER_USER``
    jobs waiting or running because of it, answer 429 and roll everything back.

    The user's row is locked first, so two requests of one user cannot both slip under the
    limit (on SQLite every write transaction is serialised already). Staff have no limit."""
    limit = conf.max_jobs_per_user()
    with transaction.atomic():
        if not limit or is_staff(user):
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
