"""Back-fill what briefs now own from today's job rows, before jobs drop ``Job.brief``:

- a ``BriefJob`` link for every job with a ``brief_id`` (status, error, finish time copied);
- ``Brief.status`` exactly as the old derived rule showed it (computed from those links, which
  carry the same job types and statuses in the same order);
- ``Artifact`` rows from the results of succeeded jobs: the step's document or file (the newest
  succeeded job of each type is current, older ones superseded).

Written against the historical models only (no app code), so it keeps working as the code moves.
"""

import json
from pathlib import PurePosixPath

from django.core.files.storage import default_storage
from django.db import migrations

LIVE = ("queued", "running")
BAD = ("failed", "cancelled")

# step -> (kind, key of the stored file in the result, content type); None: a JSON document
PRIMARY = {
    "analysis": ("analysis", None, "application/json"),
    "storyboard": ("storyboard", None, "application/json"),
    "asset_prep": ("asset_report", None, "application/json"),
    "text_analysis": ("text_analysis", None, "application/json"),
    "image_processing": ("image", "image", "image/png"),
    "video_generation": ("video", "video", "video/mp4"),
    "render": ("render_document", None, "application/json"),
    "video_slim": ("slim_video", "slim", "video/mp4"),
}
DOCUMENT_NAMES = {
    "analysis": "analysis.json",
    "storyboard": "storyboard.json",
    "asset_prep": "assets.json",
    "text_analysis": "text-analysis.json",
    "render": "render.json",
}


def status_from_links(rows):
    latest = {}
    live = False
    for job_type, status in rows:
        latest[job_type] = status
        live = live or status in LIVE
    if not latest:
        return "draft"
    if live:
        return "processing"
    if any(status in BAD for status in latest.values()):
        return "failed"
    return "completed"


def _size(name):
    try:
        return int(default_storage.size(name))
    except (OSError, ValueError, NotImplementedError):
        return 0


def _file(name):
    return isinstance(name, str) and bool(name) and not name.startswith("/") and ".." not in name


def forward(apps, schema_editor):
    Job = apps.get_model("jobs", "Job")
    Brief = apps.get_model("briefs", "Brief")
    BriefJob = apps.get_model("briefs", "BriefJob")
    Artifact = apps.get_model("briefs", "Artifact")

    jobs = Job.objects.filter(brief__isnull=False).order_by("brief", "id")
    fields = ("id", "brief", "type", "status", "error", "finished_at", "depends_on_id")
    links = []
    steps = {}
    for job in jobs.only(*fields).iterator(chunk_size=2000):
        # The position in its chain: one after the job it depends on (same brief), else 1.
        step = steps[job.depends_on_id] + 1 if job.depends_on_id in steps else 1
        steps[job.id] = step
        links.append(
            BriefJob(
                brief_id=job.brief,
                job_id=job.id,
                job_type=job.type,
                step=step,
                status=job.status,
                error=job.error or "",
                finished_at=job.finished_at,
            )
        )
        if len(links) >= 2000:
            BriefJob.objects.bulk_create(links)
            links = []
    BriefJob.objects.bulk_create(links)

    for brief in Brief.objects.only("id").iterator(chunk_size=2000):
        rows = BriefJob.objects.filter(brief_id=brief.id).order_by("id")
        status = status_from_links(rows.values_list("job_type", "status"))
        Brief.objects.filter(pk=brief.id).update(status=status)

    succeeded = (
        Job.objects.filter(brief__isnull=False, status="succeeded", type__in=list(PRIMARY))
        .order_by("brief", "type", "-finished_at", "-id")
        .only("id", "brief", "type", "result", "created_at")
    )
    seen = set()
    for job in succeeded.iterator(chunk_size=500):
        result = job.result if isinstance(job.result, dict) else None
        if result is None:
            continue
        current = (job.brief, job.type) not in seen
        seen.add((job.brief, job.type))
        for artifact in _artifacts(Artifact, job, result):
            artifact.current = current
            artifact.save()
            # created_at is auto_now_add: keep the job's time, not the migration's.
            Artifact.objects.filter(pk=artifact.pk).update(created_at=job.created_at)


def _artifacts(Artifact, job, result):
    kind, key, content_type = PRIMARY[job.type]
    common = {"brief_id": job.brief, "job_id": job.id, "step": job.type}
    made = []
    if key is None:
        size = len(json.dumps(result, ensure_ascii=False).encode())
        made.append(
            Artifact(
                kind=kind,
                name=DOCUMENT_NAMES[job.type],
                content_type=content_type,
                size=size,
                document=result,
                **common,
            )
        )
    elif _file(result.get(key)):
        name = result[key]
        made.append(
            Artifact(
                kind=kind,
                name=PurePosixPath(name).name,
                content_type=content_type,
                size=_size(name),
                file=name,
                meta=result,
                **common,
            )
        )
    if job.type == "video_generation" and _file(result.get("narration")):
        name = result["narration"]
        made.append(
            Artifact(
                kind="narration",
                name=PurePosixPath(name).name,
                content_type="audio/mpeg",
                size=_size(name),
                file=name,
                **common,
            )
        )
    if job.type == "render":
        for name in result.get("files") or []:
            # Only the files render itself made; the others belong to earlier steps or uploads.
            if _file(name) and f"briefs/{job.brief}/render/" in name:
                made.append(
                    Artifact(
                        kind="video",
                        name=PurePosixPath(name).name,
                        content_type="video/mp4",
                        size=_size(name),
                        file=name,
                        **common,
                    )
                )
    return made


class Migration(migrations.Migration):
    dependencies = [
        ("briefs", "0003_brief_links_artifacts"),
        ("jobs", "0006_notify_on_insert"),
    ]
    # jobs.0007 drops jobs_job.brief_id, which this one reads (as the historical ``Job.brief``,
    # a plain number since jobs' migrations no longer depend on briefs).
    run_before = [("jobs", "0007_remove_job_brief")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
