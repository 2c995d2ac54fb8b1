"""The end-of-scenario check of the fault suite, and the figures each scenario reports.

The invariants: every job that was accepted ended ``succeeded`` (with exactly one side effect)
or ``failed`` with a reason; no job left a second side effect; nothing is left ``running``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection

from jobs.models import Job, JobAttempt
from tests.faults.handlers import EFFECTS, NAIVE_EFFECTS
from tests.processes import overlapping_attempts

RESULTS_FILE = Path(__file__).resolve().parents[2] / "var" / "faults" / "RESULTS.md"


@dataclass
class Figures:
    scenario: str
    jobs: int
    succeeded: int
    failed: int
    lost: int
    duplicated: int
    naive_duplicated: int
    recovery_seconds: float | None = None
    notes: str = ""
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        recovery = "-" if self.recovery_seconds is None else f"{self.recovery_seconds:.2f}s"
        return (
            f"{self.scenario}: jobs={self.jobs} succeeded={self.succeeded} failed={self.failed} "
            f"lost={self.lost} duplicated={self.duplicated} recovery={recovery} "
            f"naive_duplicated={self.naive_duplicated}" + (f" ({self.notes})" if self.notes else "")
        )


REPORTED: list[Figures] = []


def _effect_counts(table: str) -> Counter[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT job_id, count(*) FROM {table} GROUP BY job_id")
        return Counter(dict(cursor.fetchall()))


def check(
    scenario: str,
    job_ids: list[int],
    *,
    recovery_seconds: float | None = None,
    notes: str = "",
    record: bool = True,
) -> Figures:
    """Count what became of ``job_ids``, record the figures (for the table), and return them.

    The caller asserts ``figures.problems == []`` so that a failure lists every broken promise.
    """
    jobs = {job.pk: job for job in Job.objects.filter(pk__in=job_ids)}
    effects = _effect_counts(EFFECTS)
    naive = _effect_counts(NAIVE_EFFECTS)
    problems = []
    lost = 0
    for job_id in job_ids:
        job = jobs.get(job_id)
        if job is None:
            problems.append(f"job #{job_id} disappeared")
            lost += 1
        elif job.status == Job.Status.SUCCEEDED:
            if effects[job_id] == 0:
                problems.append(f"job #{job_id} succeeded without its side effect")
                lost += 1
        elif job.status == Job.Status.FAILED:
            if not job.error:
                problems.append(f"job #{job_id} failed without a reason")
                lost += 1
            if effects[job_id]:
                problems.append(f"job #{job_id} failed but left a side effect")
        else:
            problems.append(f"job #{job_id} ended {job.status}, not succeeded or failed")
            lost += 1
    duplicated = sum(count - 1 for job_id, count in effects.items() if count > 1)
    if duplicated:
        twice = [job_id for job_id, count in effects.items() if count > 1]
        problems.append(f"{duplicated} duplicated side effect(s), e.g. jobs {twice[:10]}")
    succeeded_attempts = Counter(
        JobAttempt.objects.filter(
            job_id__in=job_ids, outcome=JobAttempt.Outcome.SUCCEEDED
        ).values_list("job_id", flat=True)
    )
    twice_succeeded = [job_id for job_id, count in succeeded_attempts.items() if count > 1]
    if twice_succeeded:
        problems.append(f"jobs with two succeeded attempts: {twice_succeeded[:10]}")
    overlapping = overlapping_attempts(job_ids)
    if overlapping:
        problems.append(f"jobs held by two attempts at once: {overlapping[:10]}")
    running = Job.objects.filter(status=Job.Status.RUNNING).count()
    open_attempts = JobAttempt.objects.filter(outcome=JobAttempt.Outcome.RUNNING).count()
    if running or open_attempts:
        problems.append(f"left running: {running} job(s), {open_attempts} open attempt(s)")
    statuses = Counter(job.status for job in jobs.values())
    figures = Figures(
        scenario=scenario,
        jobs=len(job_ids),
        succeeded=statuses[Job.Status.SUCCEEDED],
        failed=statuses[Job.Status.FAILED],
        lost=lost,
        duplicated=duplicated,
        naive_duplicated=sum(count - 1 for count in naive.values() if count > 1),
        recovery_seconds=recovery_seconds,
        notes=notes,
        problems=problems,
    )
    if record:
        REPORTED.append(figures)
    return figures


HEADER = """\
# Fault suite results

Written by `pytest tests/faults` on PostgreSQL (`var/faults/RESULTS.md`); each scenario runs real
`runworker` processes against the test database and checks, at the end, that every job is
`succeeded` with exactly one side effect or `failed` with a reason, and nothing is `running`.

- **Lost**: jobs not ended that way (must be 0). **Duplicated**: side effects written twice
  through `ctx.on_success` (must be 0).
- **Recovery**: what the scenario measures after its fault (see Notes); it depends on the lease
  (`JOBS_LEASE_SECONDS`) and on the load of the machine, so it is reported, never asserted.
- **Naive duplicates**: side effects the handler wrote itself, outside `ctx.on_success`. A worker
  killed or frozen after writing one, or a hung attempt that wakes up late, leaves a second one:
  reported to show why side effects belong in `ctx.on_success`, never asserted.

"""


def table(figures: list[Figures]) -> str:
    """The figures as a Markdown table, for RESULTS.md and the README."""
    rows = [
        "| Scenario | Jobs | Succeeded | Failed | Lost | Duplicated | Recovery | "
        "Naive duplicates | Notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for f in figures:
        recovery = "–" if f.recovery_seconds is None else f"{f.recovery_seconds:.2f} s"
        rows.append(
            f"| {f.scenario} | {f.jobs} | {f.succeeded} | {f.failed} | {f.lost} | "
            f"{f.duplicated} | {recovery} | {f.naive_duplicated} | {f.notes} |"
        )
    return HEADER + "\n".join(rows) + "\n"
