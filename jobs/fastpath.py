"""PostgreSQL fast paths for the two statements a worker runs for every job.

The ORM versions in ``jobs/models.py`` are the reference (and what SQLite runs): a claim with
``select_for_update(skip_locked=True)``, an update and the attempt rows in one transaction; a
fenced success and the attempt's end in another. Here each of them is one statement, prepared
once per connection, so a job costs two round trips and one commit of its own instead of eight
statements and two commits. The semantics are the same, statement for statement:

- the claim takes ready jobs in ``priority DESC, run_at, id`` order with ``FOR UPDATE SKIP
  LOCKED``, marks them running for this worker with a lease and one more attempt, and writes
  one attempt row each;
- the success is fenced on status, worker and attempt number: a job that is no longer this
  attempt's is left as it is, and its attempt row too. The job and its attempt row take the
  time its handler started from the worker (later than the claim for a job claimed ahead).

Only the plain cases come here: a claim on an unfiltered queryset, and a success without
``on_success`` callbacks (those need the ORM's transaction around the callbacks). Set
``JOBS_PREPARED_STATEMENTS=false`` behind a pooler that cannot keep prepared statements
(PgBouncer before 1.21 in transaction mode).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections

from jobs import conf

if TYPE_CHECKING:
    from jobs.models import Job


PREPARE_ONLY_WHEN_ASKED = 2**31 - 1  # a threshold no statement reaches by repetition
COPY_CHUNK = 5_000  # jobs per write of insert_jobs' COPY


def available() -> bool:
    return connection.vendor == "postgresql"


def _execute(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run one prepared statement on Django's connection, inside whatever transaction Django
    has open (none in the worker: the statement is its own transaction)."""
    db = connections[DEFAULT_DB_ALIAS]
    # What Django's cursor() checks first: no broken atomic block, a live connection.
    db.validate_no_broken_transaction()
    db.close_if_health_check_failed()
    db.ensure_connection()
    with db.wrap_database_errors:
        conn = db.connection
        if conn.prepare_threshold is None and conf.prepare_statements():
            # Django turns psycopg's preparing off; its own (client-side) cursors never prepare
            # anyway, so this only lets the statements here, marked prepare=True, be prepared.
            conn.prepare_threshold = PREPARE_ONLY_WHEN_ASKED
        cursor = psycopg.Cursor(conn)
        try:
            cursor.execute(sql, params, prepare=True)
            return cursor.fetchall()  # every statement here ends with a SELECT
        finally:
            cursor.close()


# Successes first (fenced on status, worker and attempt; the attempt row ended with the job),
# then the claim. The two touch disjoint rows (running ones, queued ones), so one statement
# may hold both; the first column lists the jobs marked succeeded, the others are the claimed
# jobs (a single row of NULLs when none was claimed).
_SUCCEED_CTES = """
    finished AS (
        SELECT * FROM unnest(%(ids)s::bigint[], %(workers)s::text[], %(attempts)s::integer[],
                             %(results)s::jsonb[], %(started)s::timestamptz[])
                      AS f(id, worker_id, attempts, result, started_at)
    ), done AS (
        UPDATE "{job}" AS job
        SET status = 'succeeded', result = finished.result, finished_at = %(now)s,
            started_at = finished.started_at, progress = 100, lease_expires_at = NULL,
            error = '', traceback = ''
        FROM finished
        WHERE job.id = finished.id AND job.status = 'running'
          AND job.worker_id = finished.worker_id AND job.attempts = finished.attempts
        RETURNING job.id, job.attempts, job.started_at
    ), done_history AS (
        UPDATE "{attempt}" AS attempt
        SET outcome = 'succeeded', error = '', finished_at = %(now)s,
            started_at = done.started_at
        FROM done
        WHERE attempt.job_id = done.id AND attempt.number = done.attempts
          AND attempt.finished_at IS NULL
    )"""

_CLAIM_CTES = """
    picked AS (
        SELECT id FROM "{job}" AS ready
        WHERE ready.status = 'queued' AND ready.run_at <= %(now)s {queue_filter}
          AND (ready.depends_on_id IS NULL
               OR (SELECT dep.status FROM "{job}" AS dep
                   WHERE dep.id = ready.depends_on_id) = 'succeeded')
        ORDER BY ready.priority DESC, ready.run_at, ready.id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE "{job}" AS job
        SET status = 'running', worker_id = %(worker)s, lease_expires_at = %(lease)s,
            started_at = %(now)s, attempts = job.attempts + 1, cancel_requested = false,
            held_reason = ''
        FROM picked WHERE job.id = picked.id
        RETURNING job.*
    ), history AS (
        INSERT INTO "{attempt}" (job_id, number, worker_id, started_at, finished_at, outcome,
                                 error)
        SELECT claimed.id, claimed.attempts, %(worker)s, %(now)s, NULL, 'running', ''
        FROM claimed
    )"""


@functools.cache
def _claim_sql(queue_filter: str) -> str:
    """Claim only: the claimed jobs' columns."""
    from jobs.models import Job, JobAttempt

    names = {"job": Job._meta.db_table, "attempt": JobAttempt._meta.db_table}
    columns = ", ".join(f'claimed."{f.column}"' for f in Job._meta.concrete_fields)
    # Only names from the models' Meta go into the text; every value is a bound parameter.
    ctes = _CLAIM_CTES.format(queue_filter=queue_filter, **names)
    return f"""
    WITH {ctes}
    SELECT {columns} FROM claimed
    ORDER BY claimed.priority DESC, claimed.run_at, claimed.id
    """  # noqa: S608


@functools.cache
def _succeed_and_claim_sql(queue_filter: str) -> str:
    """Successes and a claim: the ids marked succeeded, then the claimed jobs' columns."""
    from jobs.models import Job, JobAttempt

    names = {"job": Job._meta.db_table, "attempt": JobAttempt._meta.db_table}
    columns = ", ".join(f'claimed."{f.column}"' for f in Job._meta.concrete_fields)
    succeed = _SUCCEED_CTES.format(**names)
    claim = _CLAIM_CTES.format(queue_filter=queue_filter, **names)
    return f"""
    WITH {succeed}, {claim}
    SELECT (SELECT coalesce(array_agg(done.id), '{{}}') FROM done), {columns}
    FROM (SELECT 1) AS one LEFT JOIN claimed ON true
    ORDER BY claimed.priority DESC, claimed.run_at, claimed.id
    """  # noqa: S608


def _claim_params(
    worker_id: str,
    limit: int,
    queues: Iterable[str] | None,
    now: datetime,
    lease: datetime,
    exclude_queues: Iterable[str] = (),
) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"now": now, "limit": limit, "worker": worker_id, "lease": lease}
    queues = list(queues or [])
    # Paused, held and limited queues (jobs/queues.py), left out by a worker on every queue.
    excluded = ""
    if exclude_queues:
        params["excluded"] = list(exclude_queues)
        excluded = " AND ready.queue <> ALL(%(excluded)s)"
    if len(queues) == 1:
        params["queue"] = queues[0]
        return "AND ready.queue = %(queue)s" + excluded, params
    if queues:
        params["queues"] = queues
        return "AND ready.queue = ANY(%(queues)s)" + excluded, params
    return excluded, params


def _succeed_params(outcomes: list[tuple[Job, Any]]) -> dict[str, Any]:
    from jobs.models import Job

    field = Job._meta.get_field("result")
    return {
        "ids": [job.pk for job, _ in outcomes],
        "workers": [job.worker_id for job, _ in outcomes],
        "attempts": [job.attempts for job, _ in outcomes],
        # When each handler started (a job claimed ahead of a free slot starts after its claim).
        "started": [job.started_at for job, _ in outcomes],
        # None is SQL NULL, as the ORM's update writes it (not JSON null).
        "results": [
            None if result is None else field.get_db_prep_value(result, connection)
            for _, result in outcomes
        ],
    }


def _jobs(rows: Iterable[tuple[Any, ...]]) -> list[Job]:
    from jobs.models import Job

    fields = Job._meta.concrete_fields
    names = [f.attname for f in fields]
    converters = [
        (index, f.from_db_value) for index, f in enumerate(fields) if hasattr(f, "from_db_value")
    ]
    jobs = []
    for row in rows:
        values = list(row)
        for index, convert in converters:
            values[index] = convert(values[index], None, connection)
        jobs.append(Job.from_db(connection.alias, names, values))
    return jobs


def claim(
    *,
    worker_id: str,
    limit: int,
    queues: Iterable[str] | None,
    now: datetime,
    lease_until: datetime,
    exclude_queues: Iterable[str] = (),
) -> list[Job]:
    queue_filter, params = _claim_params(worker_id, limit, queues, now, lease_until, exclude_queues)
    return _jobs(_execute(_claim_sql(queue_filter), params))


def succeed_and_claim(
    outcomes: Iterable[tuple[Job, Any]],
    *,
    worker_id: str,
    limit: int,
    queues: Iterable[str] | None,
    now: datetime,
    lease_until: datetime,
    exclude_queues: Iterable[str] = (),
) -> tuple[set[int], list[Job]]:
    """Mark ``(job, result)`` pairs succeeded and claim up to ``limit`` jobs, in one statement
    (one round trip, one commit). Returns the ids marked succeeded and the claimed jobs."""
    queue_filter, params = _claim_params(worker_id, limit, queues, now, lease_until, exclude_queues)
    params |= _succeed_params(list(outcomes))
    rows = _execute(_succeed_and_claim_sql(queue_filter), params)
    held = set(rows[0][0]) if rows else set()
    return held, _jobs(row[1:] for row in rows if row[1] is not None)


@functools.cache
def _succeed_sql() -> str:
    from jobs.models import Job, JobAttempt

    names = {"job": Job._meta.db_table, "attempt": JobAttempt._meta.db_table}
    return f"""
    WITH {_SUCCEED_CTES.format(**names)}
    SELECT id FROM done
    """  # noqa: S608


def succeed_many(outcomes: Iterable[tuple[Job, Any]], *, now: datetime) -> set[int]:
    """Mark each ``(job, result)`` succeeded if its attempt still holds the job, all in one
    statement; returns the ids of the jobs it marked."""
    outcomes = list(outcomes)
    if not outcomes:
        return set()
    params = _succeed_params(outcomes) | {"now": now}
    return {row[0] for row in _execute(_succeed_sql(), params)}


def succeed(job: Job, result: Any, *, now: datetime) -> bool:
    """Mark ``job`` succeeded if this attempt still holds it; True when it did."""
    return job.pk in succeed_many([(job, result)], now=now)


@functools.cache
def _insert_fields() -> tuple[Any, ...]:
    """The job's columns an insert writes: all but the id, which the sequence gives."""
    from jobs.models import Job

    return tuple(f for f in Job._meta.concrete_fields if not f.primary_key)


@functools.cache
def _insert_sql() -> str:
    from jobs.models import Job

    fields = _insert_fields()
    columns = ", ".join(f'"{f.column}"' for f in fields)
    values = ", ".join(f"%({f.attname})s" for f in fields)
    # Only names from the model's Meta go into the text; every value is a bound parameter.
    return f'INSERT INTO "{Job._meta.db_table}" ({columns}) VALUES ({values}) RETURNING "id"'  # noqa: S608


def insert_job(job: Job) -> Job:
    """Insert one job (validated, not saved) as ``job.save(force_insert=True)`` would, inside
    the caller's transaction, with one prepared statement instead of the SQL the ORM compiles
    for every save. Returns the job, saved, with its id."""
    db = connections[DEFAULT_DB_ALIAS]
    params = {
        f.attname: f.get_db_prep_save(f.pre_save(job, add=True), db) for f in _insert_fields()
    }
    ((job.pk,),) = _execute(_insert_sql(), params)
    job._state.adding = False
    job._state.db = db.alias
    return job


def insert_jobs(
    template: Job, payloads: list[dict[str, Any]], texts: list[str | None] | None = None
) -> list[Job]:
    """Insert one job per payload, each like ``template`` (validated, not saved) but for its
    payload, with ``COPY`` on Django's connection: inside the caller's transaction, in two
    statements whatever the number of jobs (the ids, then the rows). The statement-level
    triggers on the jobs table (NOTIFY, tallies) fire as for an INSERT. ``texts``: each
    payload's JSON when the caller has it already (None: made here). Returns the saved jobs,
    with their ids, in the order of ``payloads``."""
    from django.db.models.base import ModelState

    from jobs.models import Job

    if not payloads:
        return []
    db = connections[DEFAULT_DB_ALIAS]
    table = Job._meta.db_table
    fields = _insert_fields()
    id_field = Job._meta.pk
    payload_field = Job._meta.get_field("payload")
    # Every column but the id and the payload is the same for all the jobs: their COPY text is
    # made once, and each job's line is its id, its payload's JSON and that text.
    python = {f.attname: f.pre_save(template, add=True) for f in fields}
    rest = [f for f in fields if f is not payload_field]
    shared = "\t".join(_copy_text(f, python[f.attname], db) for f in rest)
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(seq.id) FROM (SELECT pg_get_serial_sequence(%s, %s)::regclass AS id)"
            " AS seq, generate_series(1, %s)",
            [table, id_field.column, len(payloads)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        order = ", ".join(f'"{f.column}"' for f in [id_field, payload_field, *rest])
        encoder = payload_field.encoder
        jsons = [
            text if text is not None and encoder is None else json.dumps(payload, cls=encoder)
            for payload, text in zip(payloads, texts or [None] * len(payloads), strict=True)
        ]
        with cursor.cursor.copy(f'COPY "{table}" ({order}) FROM STDIN') as out:
            for start in range(0, len(ids), COPY_CHUNK):
                out.write(
                    "".join(
                        f"{job_id}\t{_escape(text)}\t{shared}\n"
                        for job_id, text in zip(
                            ids[start : start + COPY_CHUNK],
                            jsons[start : start + COPY_CHUNK],
                            strict=True,
                        )
                    )
                )
    # The instances, as from_db() would make them (saved, from this database), without the
    # cost of Model.__init__ for each: the template's values, its id and payload, fresh copies
    # of mutable values, and the related objects the template had loaded (its owner…).
    values = {name: value for name, value in python.items() if name != "payload"}
    mutable = [name for name, value in values.items() if isinstance(value, dict | list)]
    cache = dict(template._state.fields_cache)
    jobs = []
    for job_id, payload in zip(ids, payloads, strict=True):
        job = Job.__new__(Job)
        job.__dict__.update(values)
        for name in mutable:
            job.__dict__[name] = type(values[name])(values[name])
        job.__dict__["id"] = job_id
        job.__dict__["payload"] = payload
        state = ModelState()
        state.adding = False
        state.db = db.alias
        state.fields_cache = dict(cache)
        job._state = state
        jobs.append(job)
    return jobs


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _escape(text: str) -> str:
    """Text as a value of COPY's text format."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.translate(_COPY_ESCAPES)
    return text  # most JSON: nothing to escape (scanning is cheaper than translating)


def _copy_text(field: Any, value: Any, db: Any) -> str:
    """A Python value of ``field`` as a value of COPY's text format."""
    if value is None:
        return "\\N"
    if field.get_internal_type() == "JSONField":
        return _escape(json.dumps(value, cls=field.encoder))
    prepared = field.get_db_prep_save(value, db)
    if prepared is None:
        return "\\N"
    if isinstance(prepared, bool):
        return "t" if prepared else "f"
    if isinstance(prepared, datetime):
        return prepared.isoformat()
    return _escape(str(prepared))
