"""Counts of jobs kept up to date by PostgreSQL itself, so that the monitoring reads (``/metrics``,
``/api/health``, the dashboard) cost the same with a million jobs in the table as with a hundred.

Two tables, written by statement-level triggers on ``jobs_job`` (migration 0009) from the
transition tables of each INSERT, UPDATE and DELETE — one small INSERT per statement, however
many jobs it changed, and nothing at all for a statement that changes no status:

- ``jobs_jobtally (status, type, n)``: how many jobs are in each status, by type;
- ``jobs_finishtally (minute, type, status, bucket, n, seconds)``: jobs by the minute of their
  ``finished_at``, with the run-time bucket of the duration histogram (``DURATION_BUCKETS``;
  -1 for jobs outside it: cancelled, or never started) and the sum of their run times.

Both hold deltas (+1 for a job that entered a key, -1 for one that left it); a read sums them,
and compacts them into one row per key once there are many. The numbers are exact: the last
hour is the whole minutes from the tally plus, read from the jobs table, the part of the first
minute that the hour starts in. SQLite has no tallies: there the readers count the jobs table
(SQLite is for one machine and small tables).
"""

# ruff: noqa: S608 - the SQL here is built from this module's constants; values are parameters
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection

# Upper bounds (seconds) of the run-time histogram of /metrics. Changing them needs a migration
# that recreates the trigger functions (their SQL is generated from this tuple).
DURATION_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
FINISHED = ("succeeded", "failed", "cancelled")
COMPACT_ABOVE = 1000  # new delta rows before a read folds them into one row per key
KEEP_MINUTES = 120  # finish tallies older than this are dropped when compacting


def available() -> bool:
    return connection.vendor == "postgresql"


def bucket_sql(alias: str) -> str:
    """The histogram bucket of a row of ``jobs_job`` named ``alias``: the index of the first
    bound its run time is under (``len(DURATION_BUCKETS)`` above them all), -1 outside it."""
    seconds = f"EXTRACT(EPOCH FROM {alias}.finished_at - {alias}.started_at)"
    whens = " ".join(
        f"WHEN {seconds} <= {bound} THEN {index}" for index, bound in enumerate(DURATION_BUCKETS)
    )
    return (
        f"(CASE WHEN {alias}.started_at IS NULL OR {alias}.status NOT IN ('succeeded', 'failed')"
        f" THEN -1 ELSE CASE {whens} ELSE {len(DURATION_BUCKETS)} END END)"
    )


def seconds_sql(alias: str) -> str:
    return (
        f"(CASE WHEN {alias}.started_at IS NULL OR {alias}.status NOT IN ('succeeded', 'failed')"
        f" THEN 0 ELSE EXTRACT(EPOCH FROM {alias}.finished_at - {alias}.started_at)"
        " END)::double precision"
    )


# --- reads ------------------------------------------------------------------------------------


def counts_by_status_and_type() -> dict[tuple[str, str], int]:
    """Every (status, type) with its number of jobs (PostgreSQL)."""
    _compact("jobs_jobtally", "status, type", "sum(n)")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, type, sum(n) FROM jobs_jobtally GROUP BY status, type"
            " HAVING sum(n) <> 0"
        )
        return {(status, type_): int(n) for status, type_, n in cursor.fetchall()}


def counts_by_status(statuses: Iterable[str] | None = None) -> dict[str, int]:
    wanted = set(statuses) if statuses is not None else None
    counts: dict[str, int] = {}
    for (status, _), n in counts_by_status_and_type().items():
        if wanted is None or status in wanted:
            counts[status] = counts.get(status, 0) + n
    return counts


@dataclass
class Finished:
    """Jobs of one type and status finished in a window, with their run-time histogram."""

    n: int = 0
    seconds: float = 0.0  # the sum of the run times of the jobs in the histogram
    buckets: list[int] = field(default_factory=lambda: [0] * (len(DURATION_BUCKETS) + 1))

    @property
    def timed(self) -> int:
        """Jobs in the histogram (succeeded or failed, with a start)."""
        return sum(self.buckets)

    def cumulative(self) -> list[int]:
        """Jobs at or under each bound of ``DURATION_BUCKETS`` (Prometheus' ``le``)."""
        total, out = 0, []
        for count in self.buckets[: len(DURATION_BUCKETS)]:
            total += count
            out.append(total)
        return out


def finished_since(since: datetime) -> dict[tuple[str, str], Finished]:
    """(type, status) → jobs whose ``finished_at`` is at or after ``since`` (PostgreSQL)."""
    boundary = _next_minute(since)
    _compact_finishes()
    rows: list[tuple] = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT type, status, bucket, sum(n), sum(seconds) FROM jobs_finishtally"
            " WHERE minute >= %s GROUP BY type, status, bucket",
            [boundary],
        )
        rows += cursor.fetchall()
        if boundary > since:  # the part of the first minute inside the window, exactly
            cursor.execute(
                f"SELECT job.type, job.status, {bucket_sql('job')}, count(*),"
                f" sum({seconds_sql('job')}) FROM jobs_job AS job"
                " WHERE job.finished_at >= %s AND job.finished_at < %s"
                " GROUP BY 1, 2, 3",
                [since, boundary],
            )
            rows += cursor.fetchall()
    out: dict[tuple[str, str], Finished] = {}
    for type_, status, bucket, n, seconds in rows:
        entry = out.setdefault((type_, status), Finished())
        entry.n += int(n)
        if bucket >= 0:
            entry.buckets[bucket] += int(n)
            entry.seconds += float(seconds or 0.0)
    return {key: entry for key, entry in out.items() if entry.n}


def finished_by_minute(start: datetime, end: datetime) -> dict[tuple[datetime, str], int]:
    """(minute, status) → jobs finished in each whole minute from ``start`` (a minute) until
    ``end`` (PostgreSQL)."""
    _compact_finishes()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT minute, status, sum(n) FROM jobs_finishtally"
            " WHERE minute >= %s AND minute < %s GROUP BY minute, status HAVING sum(n) <> 0",
            [start, end],
        )
        return {(minute, status): int(n) for minute, status, n in cursor.fetchall()}


# --- upkeep -----------------------------------------------------------------------------------


def _compact(table: str, key: str, sums: str, keep: str = "true") -> None:
    """Fold the delta rows of ``table`` into one row per key once many came in since the last
    time. Concurrent compactions and trigger inserts are safe: each DELETE takes rows no other
    one takes, and the INSERT puts back exactly their sums."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE NOT folded"
            f" LIMIT {COMPACT_ABOVE + 1}) AS deltas"
        )
        if cursor.fetchone()[0] <= COMPACT_ABOVE:
            return
        columns = key.replace(" ", "")
        cursor.execute(
            f"WITH gone AS (DELETE FROM {table} RETURNING *)"
            f" INSERT INTO {table} ({columns}, {_sum_columns(sums)}, folded)"
            f" SELECT {key}, {sums}, true FROM gone WHERE {keep} GROUP BY {key}"
            " HAVING sum(n) <> 0"
        )


def _sum_columns(sums: str) -> str:
    return ", ".join(part.strip()[4:-1] for part in sums.split(","))


def _compact_finishes() -> None:
    """Compact the finish tally, dropping minutes no reader asks for any more."""
    _compact(
        "jobs_finishtally",
        "minute, type, status, bucket",
        "sum(n), sum(seconds)",
        keep=f"minute >= now() - interval '{KEEP_MINUTES} minutes'",
    )


def _next_minute(moment: datetime) -> datetime:
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=1)


# --- the triggers (migration 0009) -----------------------------------------------------------


def trigger_sql() -> str:
    """The functions and triggers that keep the tallies (PostgreSQL ≥ 10: transition tables)."""
    job_key = "(n.status, n.type) IS DISTINCT FROM (o.status, o.type)"
    finish_key = (
        "(n.status, n.type, n.finished_at, n.started_at)"
        " IS DISTINCT FROM (o.status, o.type, o.finished_at, o.started_at)"
    )

    def tally(rows: str, sign: str) -> str:
        return f"SELECT status, type, {sign}1 AS d FROM {rows}"

    def finish(rows: str, alias: str, sign: str) -> str:
        return (
            f"SELECT date_trunc('minute', {alias}.finished_at) AS minute, {alias}.type,"
            f" {alias}.status, {bucket_sql(alias)} AS bucket, {sign}1 AS d,"
            f" {sign}{seconds_sql(alias)} AS s FROM {rows}"
            f" WHERE {alias}.finished_at IS NOT NULL"
        )

    # For an UPDATE only the rows whose key changed count: a progress update writes nothing.
    changed = f"new_rows AS n JOIN old_rows AS o ON o.id = n.id WHERE {job_key}"
    insert_tally = (
        "INSERT INTO jobs_jobtally (status, type, n) SELECT status, type, sum(d) FROM ({rows})"
        " AS d GROUP BY status, type HAVING sum(d) <> 0;"
    )
    insert_finish = (
        "INSERT INTO jobs_finishtally (minute, type, status, bucket, n, seconds)"
        " SELECT minute, type, status, bucket, sum(d), sum(s) FROM ({rows}) AS d"
        " GROUP BY minute, type, status, bucket HAVING sum(d) <> 0 OR sum(s) <> 0;"
    )
    on_update = insert_tally.format(
        rows=f"SELECT n.status, n.type, 1 AS d FROM {changed} UNION ALL "
        f"SELECT o.status, o.type, -1 AS d FROM {changed}"
    ) + insert_finish.format(
        rows=finish("new_rows AS n JOIN old_rows AS o ON o.id = n.id", "n", "")
        + f" AND {finish_key} UNION ALL "
        + finish("new_rows AS n JOIN old_rows AS o ON o.id = n.id", "o", "-")
        + f" AND {finish_key}"
    )
    on_insert = insert_tally.format(rows=tally("new_rows", "")) + insert_finish.format(
        rows=finish("new_rows AS n", "n", "")
    )
    on_delete = insert_tally.format(rows=tally("old_rows", "-")) + insert_finish.format(
        rows=finish("old_rows AS o", "o", "-")
    )
    functions = []
    for name, body in (("insert", on_insert), ("update", on_update), ("delete", on_delete)):
        functions.append(
            f"CREATE OR REPLACE FUNCTION jobs_tally_{name}() RETURNS trigger LANGUAGE plpgsql"
            f" AS $$ BEGIN {body} RETURN NULL; END $$;"
        )
    return "\n".join(
        [
            *functions,
            "CREATE OR REPLACE FUNCTION jobs_tally_truncate() RETURNS trigger LANGUAGE plpgsql"
            " AS $$ BEGIN DELETE FROM jobs_jobtally; DELETE FROM jobs_finishtally;"
            " RETURN NULL; END $$;",
            "CREATE TRIGGER jobs_tally_insert AFTER INSERT ON jobs_job"
            " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
            " EXECUTE FUNCTION jobs_tally_insert();",
            "CREATE TRIGGER jobs_tally_update AFTER UPDATE ON jobs_job"
            " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT"
            " EXECUTE FUNCTION jobs_tally_update();",
            "CREATE TRIGGER jobs_tally_delete AFTER DELETE ON jobs_job"
            " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT"
            " EXECUTE FUNCTION jobs_tally_delete();",
            "CREATE TRIGGER jobs_tally_truncate AFTER TRUNCATE ON jobs_job"
            " FOR EACH STATEMENT EXECUTE FUNCTION jobs_tally_truncate();",
        ]
    )
