"""SOPs people can fix and approve: versions and review moves.

Every change of an SOP's content is a new :class:`SOPVersion` (extraction, an edit by staff, a
restore of an older version); ``SOP.data`` mirrors the newest one. The review state moves

    draft → in review → approved
                      ↘ changes requested → in review …

each move by staff with the permission it needs, recorded as an :class:`SOPReview` (who, when,
comment). A new version puts the SOP back to ``draft``; the version approved last stays
``approved_version`` until another one is approved, so re-running extraction never overwrites
what was approved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max

from briefs import schemas
from briefs.exceptions import BriefError
from briefs.models import SOP, Brief, SOPReview, SOPVersion, Transcript

State = SOP.ReviewState


class SOPError(BriefError):
    """An SOP change or review move that cannot be made; the message says why."""


@dataclass(frozen=True)
class Move:
    label: str
    sources: tuple[str, ...]
    target: str
    permission: str
    needs_comment: bool = False


MOVES: dict[str, Move] = {
    "submit": Move(
        "Submit for review", (State.DRAFT, State.CHANGES_REQUESTED), State.IN_REVIEW, "change_sop"
    ),
    "approve": Move("Approve", (State.IN_REVIEW,), State.APPROVED, "review_sop"),
    "request_changes": Move(
        "Request changes", (State.IN_REVIEW,), State.CHANGES_REQUESTED, "review_sop", True
    ),
}


def sop_validate(data: Any) -> dict[str, Any]:
    """``data`` checked against the SOP schema (the one source of its shape), steps numbered
    1…n in their order. Raises :class:`SOPError` saying what does not fit."""
    if isinstance(data, dict) and isinstance(data.get("steps"), list):
        data = {
            **data,
            "steps": [
                {**step, "number": index} if isinstance(step, dict) else step
                for index, step in enumerate(data["steps"], start=1)
            ],
        }
    if isinstance(data, dict) and data.get("steps") == []:
        raise SOPError("An SOP needs at least one step.")
    try:
        checked = schemas.validate(schemas.storable(data), schemas.SOP_SCHEMA, name="SOP")
    except schemas.SchemaMismatch as exc:
        raise SOPError(str(exc).replace("The model's answer", "The SOP")) from exc
    for step in checked["steps"]:
        if step["end"] < step["start"]:
            raise SOPError(f"Step {step['number']}: the end time is before the start time.")
    return checked


def latest_version(sop: SOP, *, save: bool = False) -> SOPVersion:
    """The newest version. An SOP saved before versions existed (or made directly, without
    this module) reads as version 1 of its data; ``save`` stores that version 1."""
    version = sop.versions.order_by("-number").first()
    if version is not None:
        return version
    if save:
        version, _ = SOPVersion.objects.get_or_create(
            sop=sop, number=1, defaults={"data": sop.data, "source": SOPVersion.Source.EXTRACTION}
        )
        return version
    return SOPVersion(
        sop=sop,
        number=1,
        data=sop.data,
        source=SOPVersion.Source.EXTRACTION,
        created_at=sop.created_at,
    )


def version_for(sop: SOP, which: str) -> SOPVersion:
    """``approved`` (the approved version, else the latest), ``latest``, or a number."""
    if which == "approved" and sop.approved_version_id is not None:
        return sop.approved_version  # type: ignore[return-value]
    if which in ("approved", "latest"):
        return latest_version(sop)
    if not which.isdigit():
        raise SOPError("version must be 'approved', 'latest' or a version number.")
    version = sop.versions.filter(number=int(which)).first()
    if version is None and which == "1":
        version = latest_version(sop)
    if version is None:
        raise SOPError(f"SOP #{sop.pk} has no version {which}.")
    return version


def state_of(sop: SOP, version: SOPVersion) -> str:
    """The review state of one version: the SOP's for its newest, else approved or superseded."""
    approved = sop.approved_version_id
    if approved is not None and version.pk == approved and sop.review_state != State.APPROVED:
        return State.APPROVED
    if version.number == latest_version(sop).number:
        return sop.review_state
    return "superseded"


def _add_version(
    sop: SOP, data: dict[str, Any], *, source: str, author: Any, restored_from: int | None = None
) -> SOPVersion:
    latest_version(sop, save=True)
    number = (sop.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = SOPVersion.objects.create(
        sop=sop,
        number=number,
        data=data,
        source=source,
        author=author,
        restored_from=restored_from,
    )
    sop.data = data
    sop.review_state = State.DRAFT
    return version


def sop_record_extraction(
    *,
    brief: Brief,
    transcript: Transcript | None,
    job: Any,
    data: dict[str, Any],
    model: str,
    prompt_version: str,
) -> SOP:
    """Save what extraction made: the brief's SOP gets a new draft version (its approved
    version stays), or the brief gets its first SOP."""
    with transaction.atomic():
        sop = (
            SOP.objects.select_for_update().filter(brief=brief).order_by("-created_at", "-id")
        ).first()
        if sop is None:
            sop = SOP.objects.create(
                job=job,
                brief=brief,
                owner=brief.owner,
                transcript=transcript,
                data=data,
                model=model,
                prompt_version=prompt_version,
            )
            SOPVersion.objects.create(
                sop=sop, number=1, data=data, source=SOPVersion.Source.EXTRACTION
            )
            return sop
        _add_version(sop, data, source=SOPVersion.Source.EXTRACTION, author=None)
        sop.job, sop.transcript = job, transcript
        sop.model, sop.prompt_version = model, prompt_version
        sop.save()
        return sop


def sop_save_version(*, sop: SOP, data: Any, author: Any) -> SOPVersion:
    """Staff's corrected SOP as a new version (back to draft). Raises :class:`SOPError` when
    it does not fit the schema or nothing changed."""
    checked = sop_validate(data)
    with transaction.atomic():
        sop = SOP.objects.select_for_update().get(pk=sop.pk)
        if _same(latest_version(sop).data, checked):
            raise SOPError("Nothing changed: no new version was saved.")
        version = _add_version(sop, checked, source=SOPVersion.Source.EDIT, author=author)
        sop.save(update_fields=["data", "review_state"])
    return version


def sop_restore(*, sop: SOP, number: int, author: Any) -> SOPVersion:
    """Version ``number`` again, as a new version (history is never rewritten)."""
    with transaction.atomic():
        sop = SOP.objects.select_for_update().get(pk=sop.pk)
        latest_version(sop, save=True)
        old = version_for(sop, str(number))
        if _same(latest_version(sop).data, old.data):
            raise SOPError(f"Version {number} is what the SOP says now: nothing to restore.")
        version = _add_version(
            sop, old.data, source=SOPVersion.Source.RESTORE, author=author, restored_from=number
        )
        sop.save(update_fields=["data", "review_state"])
    return version


def allowed_moves(sop: SOP, user: Any) -> list[str]:
    return [name for name, move in MOVES.items() if _may(user, move) and _from_ok(sop, move)]


def sop_move(*, sop: SOP, move: str, by: Any, comment: str = "") -> SOPReview:
    """Move the SOP's review state (``submit``, ``approve``, ``request_changes``), recorded.

    Raises :class:`SOPError` for an unknown move, a move the state does not allow, a user
    without the permission, or changes requested without saying which."""
    rule = MOVES.get(move)
    if rule is None:
        raise SOPError(f"Unknown review move {move!r}; use one of {', '.join(MOVES)}.")
    if not _may(by, rule):
        raise SOPError(f"You may not {rule.label.lower()}: it needs briefs.{rule.permission}.")
    comment = (comment or "").strip()
    if rule.needs_comment and not comment:
        raise SOPError("Say what should change: a comment is needed to request changes.")
    with transaction.atomic():
        sop = SOP.objects.select_for_update().get(pk=sop.pk)
        if not _from_ok(sop, rule):
            raise SOPError(
                f"“{rule.label}” is not possible while the SOP is "
                f"{sop.get_review_state_display().lower()}."
            )
        version = latest_version(sop, save=True)
        review = SOPReview.objects.create(
            sop=sop,
            version=version,
            from_state=sop.review_state,
            to_state=rule.target,
            comment=comment[:5000],
            by=by,
        )
        sop.review_state = rule.target
        fields = ["review_state"]
        if rule.target == State.APPROVED:
            sop.approved_version = version
            fields.append("approved_version")
        sop.save(update_fields=fields)
    return review


def _may(user: Any, rule: Move) -> bool:
    return bool(
        getattr(user, "is_staff", False)
        and getattr(user, "is_active", False)
        and user.has_perm(f"briefs.{rule.permission}")
    )


def _from_ok(sop: SOP, rule: Move) -> bool:
    return sop.review_state in rule.sources


def _same(a: Any, b: Any) -> bool:
    """Equal content: 3 and 3.0 seconds are the same time."""
    return json.dumps(_canon(a), sort_keys=True) == json.dumps(_canon(b), sort_keys=True)


def _canon(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _canon(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canon(item) for item in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value
