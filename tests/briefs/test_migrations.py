"""A database at the schema of before briefs owned their results (jobs 0006, briefs 0002), full of
briefs in every status, jobs of every status with results, credits, transcripts and SOPs, migrates
forward with every row kept, every balance the same, every brief showing the status it showed,
and today's job results back-filled as outputs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("jobs", "0006_notify_on_insert"), ("briefs", "0002_transcripts_sops")]
LIVE = ("queued", "running")
BAD = ("failed", "cancelled")


def old_status(jobs: list[tuple[int, str, str]]) -> str:
    """The rule briefs/models.py used before (``Brief.status`` derived from ``brief.jobs``)."""
    latest: dict[str, str] = {}
    live = False
    for _, job_type, status in sorted(jobs):
        latest[job_type] = status
        live = live or status in LIVE
    if not latest:
        return "draft"
    if live:
        return "processing"
    if any(status in BAD for status in latest.values()):
        return "failed"
    return "completed"


#: Each brief's jobs, oldest first: (type, status, result).
SCENARIOS: dict[str, list[tuple[str, str, object]]] = {
    "draft": [],
    "queued": [("analysis", "queued", None)],
    "running": [("analysis", "succeeded", {"summary": "a"}), ("asset_prep", "running", None)],
    "completed text": [
        ("analysis", "succeeded", {"summary": "a", "analysis": {"summary": "a"}}),
        ("text_analysis", "succeeded", {"summary": "t", "analysis": {}}),
        ("render", "succeeded", {"summary": "R", "document": {"title": "R"}, "files": []}),
    ],
    "failed": [("analysis", "succeeded", {"summary": "a"}), ("text_analysis", "failed", None)],
    "cancelled": [("analysis", "cancelled", None)],
    "failed then fixed": [
        ("analysis", "failed", None),
        ("analysis", "succeeded", {"summary": "second"}),
    ],
    "fixed then broken": [
        ("analysis", "succeeded", {"summary": "first"}),
        ("analysis", "failed", None),
    ],
    "failed but live": [("analysis", "failed", None), ("storyboard", "queued", None)],
    "image": [
        ("analysis", "succeeded", {"summary": "a"}),
        ("image_processing", "succeeded", {"summary": "i", "image": "{image}"}),
        ("render", "succeeded", {"summary": "R", "document": {}, "files": ["{image}"]}),
    ],
    "video sop": [
        ("video_slim", "succeeded", {"summary": "s", "raw": "raw.mp4", "slim": "{slim}"}),
        ("transcribe", "succeeded", {"summary": "t"}),
        ("sop_extract", "succeeded", {"summary": "S"}),
    ],
    "video render": [
        ("video_generation", "succeeded", {"video": "{video}", "narration": "{narration}"}),
        ("render", "succeeded", {"summary": "R", "document": {}, "files": ["{rendered}"]}),
    ],
    "odd result": [("analysis", "succeeded", ["not", "a", "dict"])],
}


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def fill(value, files):
    if isinstance(value, str) and value.startswith("{"):
        return files[value.strip("{}")]
    if isinstance(value, dict):
        return {key: fill(item, files) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, files) for item in value]
    return value


@pytest.mark.django_db(transaction=True)
def test_every_row_balance_and_status_survives_and_results_become_outputs(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    old = migrate(BEFORE)
    User = old.get_model("auth", "User")
    Brief = old.get_model("briefs", "Brief")
    Job = old.get_model("jobs", "Job")
    Transcript = old.get_model("briefs", "Transcript")
    SOP = old.get_model("briefs", "SOP")
    CreditAccount = old.get_model("jobs", "CreditAccount")
    CreditEntry = old.get_model("jobs", "CreditEntry")

    ada = User.objects.create(username="ada")
    bob = User.objects.create(username="bob")
    account = CreditAccount.objects.create(user=ada, balance=42)
    CreditAccount.objects.create(user=bob, balance=0)
    CreditEntry.objects.create(account=account, kind="grant", delta=50, balance_after=50)
    now = timezone.now()
    files = {}
    for key, content in (
        ("image", b"png" * 10),
        ("slim", b"slim" * 20),
        ("video", b"mp4" * 30),
        ("narration", b"mp3" * 5),
    ):
        files[key] = default_storage.save(f"briefs/x/generated/{key}.bin", ContentFile(content))
    expected: dict[int, str] = {}
    made: dict[str, object] = {}
    for number, (title, steps) in enumerate(SCENARIOS.items()):
        brief = Brief.objects.create(owner=ada, title=title, query="q", media_type="text")
        if title == "video render":
            files["rendered"] = default_storage.save(
                f"briefs/{brief.pk}/render/final.mp4", ContentFile(b"final" * 7)
            )
        rows = []
        previous = None
        for step, (job_type, status, result) in enumerate(steps):
            finished = status not in LIVE
            job = Job.objects.create(
                type=job_type,
                status=status,
                brief=brief.pk,  # a plain number in jobs' migrations (no key into briefs)
                owner=ada,
                depends_on=previous,
                result=fill(result, files),
                error="PermanentError: it broke" if status in BAD else "",
                finished_at=now - timedelta(minutes=60 - number - step) if finished else None,
            )
            CreditEntry.objects.create(
                account=account, kind="charge", delta=-1, balance_after=41, job=job
            )
            rows.append((job.pk, job_type, status))
            previous = job
        expected[brief.pk] = old_status(rows)
        made[title] = brief
    Job.objects.create(type="noop", status="succeeded", result={"ok": True})  # no brief
    transcript = Transcript.objects.create(
        brief=made["video sop"], job=Job.objects.get(type="transcribe"), segments=[{"t": 1}]
    )
    SOP.objects.create(
        brief=made["video sop"],
        owner=ada,
        transcript=transcript,
        job=Job.objects.get(type="sop_extract"),
        data={"title": "S", "steps": []},
    )
    counts = {
        "jobs": Job.objects.count(),
        "briefs": Brief.objects.count(),
        "transcripts": Transcript.objects.count(),
        "sops": SOP.objects.count(),
        "entries": CreditEntry.objects.count(),
    }
    balances = dict(CreditAccount.objects.values_list("user__username", "balance"))
    brief_jobs = sorted(Job.objects.filter(brief__isnull=False).values_list("pk", "brief"))
    assert set(expected.values()) == {"draft", "processing", "completed", "failed"}

    new = migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    Brief = new.get_model("briefs", "Brief")
    BriefJob = new.get_model("briefs", "BriefJob")
    Artifact = new.get_model("briefs", "Artifact")
    Job = new.get_model("jobs", "Job")
    CreditAccount = new.get_model("credits", "CreditAccount")
    CreditEntry = new.get_model("credits", "CreditEntry")
    assert counts == {
        "jobs": Job.objects.count(),
        "briefs": Brief.objects.count(),
        "transcripts": new.get_model("briefs", "Transcript").objects.count(),
        "sops": new.get_model("briefs", "SOP").objects.count(),
        "entries": CreditEntry.objects.count(),
    }
    assert dict(CreditAccount.objects.values_list("user__username", "balance")) == balances
    assert dict(Brief.objects.values_list("pk", "status")) == expected
    assert sorted(BriefJob.objects.values_list("job_id", "brief_id")) == brief_jobs
    failed = BriefJob.objects.get(brief__title="failed", job_type="text_analysis")
    assert (failed.status, failed.error, failed.step) == ("failed", "PermanentError: it broke", 2)

    def outputs(title):
        rows = Artifact.objects.filter(brief__title=title).order_by("job_id", "id")
        return [(a.step, a.kind, a.current, a.file.name or None, a.size) for a in rows]

    text = outputs("completed text")
    assert [row[:3] for row in text] == [
        ("analysis", "analysis", True),
        ("text_analysis", "text_analysis", True),
        ("render", "render_document", True),
    ]
    analysis = Artifact.objects.get(brief__title="completed text", step="analysis")
    assert analysis.document == {"summary": "a", "analysis": {"summary": "a"}}
    assert analysis.size == len(b'{"summary": "a", "analysis": {"summary": "a"}}')
    # Of two successes of one step, the newest is current; a failed run made nothing.
    assert outputs("failed then fixed")[0][:3] == ("analysis", "analysis", True)
    assert Artifact.objects.get(brief__title="failed then fixed").document["summary"] == "second"
    assert outputs("image")[1] == ("image_processing", "image", True, files["image"], 30)
    assert [row[1] for row in outputs("image")] == ["analysis", "image", "render_document"]
    assert outputs("video sop") == [("video_slim", "slim_video", True, files["slim"], 80)]
    assert outputs("video render") == [
        ("video_generation", "video", True, files["video"], 90),
        ("video_generation", "narration", True, files["narration"], 15),
        ("render", "render_document", True, None, outputs("video render")[2][4]),
        ("render", "video", True, files["rendered"], 35),
    ]
    assert outputs("odd result") == []
    assert not Artifact.objects.filter(job__isnull=True).exists()
