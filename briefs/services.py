"""Cross-model work on briefs: create one, store its uploads, start its jobs.

Creating a brief never creates jobs; starting them is an explicit act (:func:`brief_start`,
:func:`brief_start_sop`), done in one transaction: either every job of the pipeline exists and
its credits are taken, or nothing does.

Assets are a list of dicts, each either an uploaded file stored through Django's storage API or
a URL the ``asset_prep`` step fetches::

    {"kind": "video", "file": "briefs/uploads/7/3f…/demo.mp4", "name": "demo.mp4"}
    {"kind": "image", "url": "https://example.com/photo.jpg"}

``kind`` is one of video, image, audio, text.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import SuspiciousFileOperation, ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.text import get_valid_filename

from briefs import conf, fetch, media
from briefs.exceptions import BriefError, QuotaExceeded
from briefs.models import Artifact, Brief, BriefJob, Upload, status_from_links
from credits import services as credits
from credits.exceptions import InsufficientCredits
from jobs.models import Job
from jobs.services import enqueue

ASSET_KINDS = ("video", "image", "audio", "text")
MAX_ASSETS = 20

#: The steps of each media type's pipeline, in order; each depends on the one before.
PIPELINES: dict[str, list[str]] = {
    Brief.MediaType.VIDEO: ["analysis", "asset_prep", "video_generation", "render"],
    Brief.MediaType.IMAGE: ["analysis", "asset_prep", "image_processing", "render"],
    Brief.MediaType.AUDIO: ["analysis", "asset_prep", "render"],
    Brief.MediaType.TEXT: ["analysis", "text_analysis", "render"],
}
SOP_STEPS = ["video_slim", "transcribe", "sop_extract"]
#: Every job type that works for a brief (the hooks' receivers listen to these).
BRIEF_JOB_TYPES = frozenset(
    [step for steps in PIPELINES.values() for step in steps] + ["storyboard", *SOP_STEPS]
)


def brief_create(
    *,
    owner: Any,
    title: str,
    query: str,
    media_type: str,
    description: str = "",
    assets: list[Any] | None = None,
) -> Brief:
    """Validate and save a brief (no jobs). Raises ``ValidationError`` keyed by field."""
    errors: dict[str, str] = {}
    title = (title or "").strip()
    query = (query or "").strip()
    if not title:
        errors["title"] = "Give the brief a title."
    elif len(title) > 200:
        errors["title"] = f"The title is {len(title)} characters; the limit is 200."
    if not query:
        errors["query"] = "Say what you want made (the query is empty)."
    description = (description or "").strip()
    for field, value in (("title", title), ("query", query), ("description", description)):
        problem = _text_problem(value)
        if field != "title" and len(value) > MAX_BRIEF_TEXT:
            problem = f"is {len(value):,} characters; the limit is {MAX_BRIEF_TEXT:,}"
        if problem:
            errors[field] = f"The {field} {problem}."
    if media_type not in Brief.MediaType.values:
        errors["media_type"] = (
            f"Unknown media type {media_type!r}. "
            f"Choose one of: {', '.join(Brief.MediaType.values)}."
        )
    try:
        cleaned_assets = clean_assets(assets or [])
    except ValidationError as exc:
        errors["assets"] = " ".join(exc.messages)
    for field, value in (("title", title), ("query", query), ("description", description)):
        if value and not _storable(value):
            errors.setdefault(field, "Contains characters that cannot be stored (NUL).")
    if errors:
        raise ValidationError(errors)
    brief = Brief(
        owner=owner,
        title=title,
        query=query,
        media_type=media_type,
        description=description,
        assets=cleaned_assets,
    )
    with transaction.atomic():
        brief.save()
        uploads_attach([asset["file"] for asset in cleaned_assets if asset.get("file")])
    return brief


#: The longest query or description, as the API allows.
MAX_BRIEF_TEXT = 20_000


def _text_problem(value: str) -> str | None:
    """What makes ``value`` unstorable (PostgreSQL refuses NUL characters, and lone surrogates,
    which is what undecodable bytes become, cannot be encoded), checked on every database."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode()
    except UnicodeEncodeError:
        return "is not valid Unicode (undecodable bytes?)"
    return None


def clean_assets(assets: Any) -> list[dict[str, Any]]:
    """Check a list of assets; returns them normalised or raises ``ValidationError``."""
    if not isinstance(assets, list):
        raise ValidationError("Assets must be a list.")
    if len(assets) > MAX_ASSETS:
        raise ValidationError(f"A brief takes at most {MAX_ASSETS} assets, not {len(assets)}.")
    cleaned = []
    for index, asset in enumerate(assets, start=1):
        if isinstance(asset, str):
            asset = {"url": asset}
        if not isinstance(asset, dict):
            raise ValidationError(f"Asset {index} must be an object with a 'file' or a 'url'.")
        upload = Upload.objects.filter(name=str(asset.get("file"))).first()
        kind = (
            asset.get("kind")
            or (upload.kind if upload else None)
            or _kind_from_name(asset.get("file") or asset.get("url") or "")
        )
        if kind not in ASSET_KINDS:
            raise ValidationError(
                f"Asset {index}: unknown kind {kind!r}; use one of {', '.join(ASSET_KINDS)}."
            )
        has_file, has_url = bool(asset.get("file")), bool(asset.get("url"))
        if has_file == has_url:
            raise ValidationError(f"Asset {index} needs exactly one of 'file' or 'url'.")
        item: dict[str, Any] = {"kind": kind}
        if has_url:
            url = str(asset["url"]).strip()
            try:
                fetch.parse(url)
            except fetch.FetchError as exc:
                if "Only http(s)" in str(exc):
                    raise ValidationError(
                        f"Asset {index}: only http(s) URLs can be fetched ({url[:200]!r})."
                    ) from None
                raise ValidationError(f"Asset {index}: {exc}") from None
            parts = urlsplit(url)
            item["url"] = url
            item["name"] = upload_display_name(
                str(asset.get("name") or PurePosixPath(parts.path).name or "asset")
            )
        else:
            name = str(asset["file"])
            if not default_storage.exists(name):
                raise ValidationError(f"Asset {index}: no uploaded file named {name!r}.")
            if upload is not None and upload.kind != kind:
                # the kind is bound to the file when it is checked, at upload time
                raise ValidationError(
                    f"Asset {index}: the file was uploaded as {upload.kind}, not {kind}."
                )
            item["file"] = name
            default_name = upload.original_name if upload else PurePosixPath(name).name
            item["name"] = upload_display_name(str(asset.get("name") or default_name))
        cleaned.append(item)
    return cleaned


class UploadRefused(BriefError):
    """An uploaded file the app does not take; ``status`` is the HTTP answer (413, 422)."""

    def __init__(self, message: str, *, status: int = 422, field: str = "file") -> None:
        super().__init__(message)
        self.status = status
        self.field = field


def asset_check_upload(*, file: Any, kind: str | None = None) -> None:
    """The checks every uploaded file passes, in the API and in the admin: its size against
    ``BRIEFS_ASSET_MAX_BYTES`` and its kind. Raises :class:`UploadRefused`."""
    limit = conf.asset_max_bytes()
    size = getattr(file, "size", None)
    if size is not None and size > limit:
        raise UploadRefused(
            f"The file is {size:,} bytes; the limit is {limit:,} bytes.", status=413
        )
    if kind is not None and kind not in ASSET_KINDS:
        raise UploadRefused(f"kind must be one of {', '.join(ASSET_KINDS)}.", field="kind")
    name = PurePosixPath(getattr(file, "name", "") or "").name
    if kind is None and _kind_from_name(name) is None:
        raise UploadRefused(
            f"Cannot tell what kind of file {name!r} is; say kind= one of "
            f"{', '.join(ASSET_KINDS)}.",
            field="kind",
        )


#: The longest user-given file name kept, in bytes of UTF-8 (for display, and safe as part of a
#: stored name: file systems allow 255 bytes per name).
MAX_UPLOAD_NAME = 150


def upload_display_name(raw: str) -> str:
    """The user's file name, safe to show and store: its last part, valid characters, at most
    :data:`MAX_UPLOAD_NAME` bytes (a long multibyte name is cut, keeping its suffix)."""
    try:
        name = get_valid_filename(PurePosixPath(str(raw or "upload").replace("\\", "/")).name)
    except SuspiciousFileOperation:
        name = "upload"
    name = "".join(ch for ch in name if ch.isprintable()) or "upload"
    if len(name.encode()) > MAX_UPLOAD_NAME:
        suffix = PurePosixPath(name).suffix[:12]
        stem = name[: len(name) - len(suffix)]
        room = MAX_UPLOAD_NAME - len(suffix.encode())
        stem = stem.encode()[:room].decode(errors="ignore")
        name = stem + suffix
    return name


def asset_store_upload(*, owner: Any, file: Any, kind: str | None = None) -> dict[str, Any]:
    """Check and store an uploaded file; returns the asset dict to put in ``assets`` of
    :func:`brief_create`.

    The content must be a plain file of the declared ``kind`` (ffprobe's detected format for
    media, magic bytes for images, UTF-8 for text): anything else, a playlist sent as a video
    for one, raises ``ValidationError``. The stored name is ours (``…/<uuid>/video.mp4``), never
    the user's suffix. Over the owner's storage quota raises :class:`QuotaExceeded`."""
    original = upload_display_name(getattr(file, "name", "") or "upload")
    kind = kind or _kind_from_name(original)
    if kind not in ASSET_KINDS:
        raise ValidationError(
            f"Cannot tell what kind of file {original!r} is; say kind= one of {ASSET_KINDS}."
        )
    with _local_copy(file) as local:
        try:
            extension, _ = media.check_upload(local, kind, name=original)
        except media.UploadRefused as exc:
            raise ValidationError({"file": str(exc)}) from None
        size = local.stat().st_size
        owner_part = getattr(owner, "pk", None) or "anonymous"
        name = f"briefs/uploads/{owner_part}/{uuid.uuid4().hex}/{kind}.{extension}"
        with transaction.atomic():
            if getattr(owner, "pk", None) is not None:
                _check_quota(owner, size)
            with local.open("rb") as handle:
                stored = default_storage.save(name, File(handle, name=f"{kind}.{extension}"))
            try:
                with transaction.atomic():
                    Upload.objects.create(
                        owner=owner, name=stored, original_name=original, kind=kind, size=size
                    )
            except Exception:
                default_storage.delete(stored)
                raise
    return {"kind": kind, "file": stored, "name": original}


def _check_quota(owner: Any, size: int) -> None:
    """Refuse an upload that takes ``owner`` over their quota. The owner's row is locked first,
    so two uploads at once cannot both slip under it."""
    quota = conf.upload_quota_bytes()
    if not quota:
        return
    list(type(owner).objects.select_for_update().filter(pk=owner.pk).values_list("pk"))
    used = Upload.objects.filter(owner=owner).aggregate(total=Sum("size"))["total"] or 0
    if used + size > quota:
        raise QuotaExceeded(
            f"This upload ({size:,} bytes) would take your files to {used + size:,} bytes; your "
            f"storage quota is {quota:,} bytes. Delete briefs you no longer need, or ask staff "
            "for more room."
        )


@contextlib.contextmanager
def _local_copy(file: Any) -> Iterator[Path]:
    """A local path holding the upload's bytes (Django's temporary file when there is one)."""
    temporary = getattr(file, "temporary_file_path", None)
    if callable(temporary):
        yield Path(temporary())
        return
    with tempfile.NamedTemporaryFile() as tmp:
        if hasattr(file, "seek"):
            file.seek(0)
        for chunk in file.chunks() if hasattr(file, "chunks") else [file.read()]:
            tmp.write(chunk)
        tmp.flush()
        yield Path(tmp.name)


def uploads_attach(names: list[str]) -> None:
    """Mark the uploads a brief uses as attached (they are then kept)."""
    if names:
        Upload.objects.filter(name__in=names, attached_at__isnull=True).update(
            attached_at=timezone.now()
        )


def uploads_discard(assets: list[dict[str, Any]]) -> None:
    """Delete uploads just stored that will not be used after all (a form that another file
    failed): their rows and their files."""
    names = [asset["file"] for asset in assets if asset.get("file")]
    Upload.objects.filter(name__in=names, attached_at__isnull=True).delete()
    for name in names:
        default_storage.delete(name)


def brief_set_assets(*, brief: Brief, assets: list[dict[str, Any]]) -> None:
    """Give ``brief`` these assets (the admin's form: some removed, uploads added). The uploads
    it uses are marked attached, so that housekeeping keeps them."""
    with transaction.atomic():
        brief.assets = assets
        brief.save(update_fields=["assets", "updated_at"])
        uploads_attach([asset["file"] for asset in assets if asset.get("file")])


def uploads_prune(*, older_than: timedelta | None = None) -> int:
    """Delete uploads no brief has used, stored more than ``older_than`` ago (by default
    ``BRIEFS_UPLOAD_UNATTACHED_HOURS``): their files and their rows. Returns how many."""
    if older_than is None:
        older_than = timedelta(hours=conf.upload_unattached_hours())
    cutoff = timezone.now() - older_than
    deleted = 0
    stale = Upload.objects.filter(attached_at__isnull=True, created_at__lt=cutoff)
    for upload in stale.order_by("pk").iterator():
        with transaction.atomic():
            # a brief may have taken it since the query: delete only if still unattached
            if not Upload.objects.filter(pk=upload.pk, attached_at__isnull=True).delete()[0]:
                continue
            default_storage.delete(upload.name)
        deleted += 1
    return deleted


def brief_start(*, brief: Brief, use_pipeline: bool = False, storyboard: bool = False) -> list[Job]:
    """Create the brief's jobs in one transaction and return them in order.

    Without the pipeline: ``analysis`` (then ``storyboard`` if asked). With it, the media type's
    steps from :data:`PIPELINES`, with ``storyboard`` after ``analysis`` if asked. Each job
    depends on the one before. Raises :class:`BriefError` (nothing created) if the brief is
    already processing or its media type has no pipeline, and
    :class:`~credits.exceptions.InsufficientCredits` if the owner cannot pay for every step.
    """
    if use_pipeline:
        if brief.media_type not in PIPELINES:
            raise BriefError(
                f"Brief #{brief.pk} has the unknown media type {brief.media_type!r}; "
                f"pipelines exist for {', '.join(PIPELINES)}."
            )
        steps = list(PIPELINES[brief.media_type])
    else:
        steps = ["analysis"]
    if storyboard:
        steps.insert(1, "storyboard")
    return _start_chain(brief, steps, {})


def brief_start_sop(*, brief: Brief) -> list[Job]:
    """video_slim → transcribe → sop_extract for a video brief with an uploaded video."""
    if brief.media_type != Brief.MediaType.VIDEO:
        raise BriefError(
            f"An SOP is made from a video; brief #{brief.pk} is a {brief.media_type} brief."
        )
    index = first_uploaded_video(brief)
    if index is None:
        raise BriefError(
            f"Brief #{brief.pk} has no uploaded video. Upload one (an asset with kind 'video' "
            "and a 'file') before making an SOP."
        )
    return _start_chain(brief, SOP_STEPS, {"asset_index": index})


def first_uploaded_video(brief: Brief) -> int | None:
    for index, asset in enumerate(brief.assets or []):
        if isinstance(asset, dict) and asset.get("kind") == "video" and asset.get("file"):
            return index
    return None


def _start_chain(brief: Brief, steps: list[str], extra: dict[str, Any]) -> list[Job]:
    jobs: list[Job] = []
    with transaction.atomic():
        locked = Brief.objects.select_for_update().get(pk=brief.pk)
        # A live link whose job row was deleted (by hand, while queued) will never move.
        if locked.job_links.filter(status__in=LIVE_LINKS, job__isnull=False).exists():
            raise BriefError(
                f"Brief #{brief.pk} is already processing; wait for its jobs or cancel them."
            )
        # Say what the whole chain costs up front (each enqueue still charges atomically).
        total = sum(credits.cost_of(step) for step in steps)
        available = credits.balance(brief.owner)
        if total > available:
            raise InsufficientCredits(needed=total, balance=available, job_type=" → ".join(steps))
        previous = None
        for step in steps:
            previous = enqueue(
                step, {"brief_id": brief.pk, **extra}, owner=brief.owner, depends_on=previous
            )
            jobs.append(previous)
        brief_link_jobs(brief=locked, jobs=jobs)
    brief.status = locked.status
    return jobs


LIVE_LINKS = (BriefJob.Status.QUEUED, BriefJob.Status.RUNNING)


def brief_link_jobs(*, brief: Brief, jobs: list[Job]) -> None:
    """Record that ``jobs`` (in chain order) work for ``brief`` and recompute its status; call
    inside the transaction that enqueued them."""
    with transaction.atomic():
        Brief.objects.select_for_update().filter(pk=brief.pk).values_list("pk").first()
        BriefJob.objects.bulk_create(
            BriefJob(
                brief=brief,
                job=job,
                job_type=job.type,
                step=number,
                status=job.status,
                error=job.error,
                finished_at=job.finished_at,
            )
            for number, job in enumerate(jobs, start=1)
        )
        brief.status = brief_refresh_status(brief_id=brief.pk)


def brief_refresh_status(*, brief_id: int) -> str:
    """Store the brief's status as its link rows say (never from job rows: they may be gone)."""
    rows = BriefJob.objects.filter(brief_id=brief_id).order_by("id")
    status = status_from_links(
        # A job deleted while still live will never run: it counts as cancelled.
        (job_type, BriefJob.Status.CANCELLED if job_id is None and status in LIVE_LINKS else status)
        for job_type, status, job_id in rows.values_list("job_type", "status", "job_id")
    )
    Brief.objects.filter(pk=brief_id).exclude(status=status).update(status=status)
    return status


def brief_jobs_moved(*, jobs: list[Job]) -> None:
    """Mirror the new state of ``jobs`` on their links and recompute their briefs' status (the
    hooks' receivers call this inside the job's transaction). The briefs are locked first, so two
    jobs of one brief ending at once cannot both read the other as still live."""
    links = BriefJob.objects.filter(job_id__in=[job.pk for job in jobs])
    brief_ids = sorted(set(links.values_list("brief_id", flat=True)))
    if not brief_ids:
        return
    list(Brief.objects.select_for_update().filter(pk__in=brief_ids).values_list("pk", flat=True))
    for job in jobs:
        failed = job.status in (BriefJob.Status.FAILED, BriefJob.Status.CANCELLED)
        BriefJob.objects.filter(job_id=job.pk).update(
            status=job.status, error=job.error if failed else "", finished_at=job.finished_at
        )
    for brief_id in brief_ids:
        brief_refresh_status(brief_id=brief_id)


def artifacts_replace(
    *, brief: Brief, step: str, job: Job | None, outputs: list[dict[str, Any]]
) -> list[Artifact]:
    """Save a step's outputs as artifacts of ``brief``; the step's earlier artifacts are
    superseded (``current=False``), or deleted when a new output overwrote their file in place.

    Each output: ``kind``, ``name``, ``content_type`` and either ``file`` (a stored name) or
    ``document`` (JSON), optionally ``meta``.
    """
    with transaction.atomic():
        earlier = Artifact.objects.filter(brief=brief, step=step, current=True)
        files = [output["file"] for output in outputs if output.get("file")]
        Artifact.objects.filter(brief=brief, step=step, file__in=files).delete()
        earlier.update(current=False)
        return [
            Artifact.objects.create(
                brief=brief,
                step=step,
                job=job,
                kind=output["kind"],
                name=output["name"],
                content_type=output["content_type"],
                size=_size(output),
                file=output.get("file") or "",
                document=output.get("document"),
                meta=output.get("meta") or {},
            )
            for output in outputs
        ]


def _size(output: dict[str, Any]) -> int:
    if output.get("file"):
        try:
            return int(default_storage.size(output["file"]))
        except OSError:
            return 0
    return len(json.dumps(output.get("document"), ensure_ascii=False).encode())


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _kind_from_name(name: str) -> str | None:
    suffix = PurePosixPath(urlsplit(name).path).suffix.lower()
    return {
        ".mp4": "video",
        ".mov": "video",
        ".webm": "video",
        ".mkv": "video",
        ".avi": "video",
        ".png": "image",
        ".jpg": "image",
        ".jpeg": "image",
        ".gif": "image",
        ".webp": "image",
        ".mp3": "audio",
        ".wav": "audio",
        ".m4a": "audio",
        ".ogg": "audio",
        ".mpg": "video",
        ".ts": "video",
        ".ogv": "video",
        ".wmv": "video",
        ".flv": "video",
        ".bmp": "image",
        ".tif": "image",
        ".tiff": "image",
        ".mka": "audio",
        ".wma": "audio",
        ".flac": "audio",
        ".aac": "audio",
        ".txt": "text",
        ".md": "text",
        ".m4v": "video",
        ".3gp": "video",
        ".mpeg": "video",
        ".opus": "audio",
        ".oga": "audio",
        ".weba": "audio",
        ".csv": "text",
        ".markdown": "text",
        ".text": "text",
    }.get(suffix)
