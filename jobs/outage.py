"""Losing the database is the worker's problem, reported once.

:func:`is_lost_connection` tells a lost connection (PostgreSQL restarted, the network cut) from
other database errors. :class:`Outage` turns a stream of such errors into three kinds of log
line: one when the database goes away (what failed, since when, how often the worker tries
again), a reminder every ``JOBS_OUTAGE_REMINDER_SECONDS``, and one when it is back with how long
it was gone. Errors that are not a lost connection keep their tracebacks.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger("jobs.worker")

_LOST_NAMES = frozenset({"OperationalError", "InterfaceError"})


def is_lost_connection(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a database error after which this thread's
    connection no longer works: a restart or a cut, not a bad query, a lock timeout or
    SQLite's "database is locked" (those leave the connection usable)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OperationalError | InterfaceError) or (
            type(current).__name__ in _LOST_NAMES
            and type(current).__module__.startswith(("psycopg", "django.db"))
        ):
            return not _usable()
        current = current.__cause__ or current.__context__
    return False


def _usable() -> bool:
    if connection.connection is None:
        return False
    try:
        return bool(connection.is_usable())
    except Exception:
        return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m {rest:02d}s"


class Outage:
    """The worker's view of the database: reachable, or unreachable since when."""

    def __init__(self, worker_id: str, *, retry_every: float, remind_every: float) -> None:
        self.worker_id = worker_id
        self.retry_every = retry_every
        self.remind_every = remind_every
        self._since: float | None = None
        self._since_wall: datetime | None = None
        self._reminded = 0.0
        self._lock = threading.Lock()
        #: When the database last came back after an outage (monotonic seconds), or None.
        self.back_at: float | None = None

    @property
    def down(self) -> bool:
        return self._since is not None

    def lost(self, doing: str, exc: BaseException) -> None:
        """A lost connection while ``doing``: the first says so, later ones only remind."""
        now = time.monotonic()
        with self._lock:
            if self._since is None:
                self._since, self._reminded = now, now
                self._since_wall = datetime.now().astimezone()
                logger.error(
                    "worker=%s database unreachable since %s (while %s: %s); retrying every "
                    "%gs, running jobs wait and keep their attempts",
                    self.worker_id,
                    self._since_wall.strftime("%H:%M:%S"),
                    doing,
                    _first_line(exc),
                    self.retry_every,
                )
            elif now - self._reminded >= self.remind_every:
                self._reminded = now
                logger.error(
                    "worker=%s database still unreachable, for %s (since %s); retrying every %gs",
                    self.worker_id,
                    _duration(now - self._since),
                    self._since_wall.strftime("%H:%M:%S") if self._since_wall else "?",
                    self.retry_every,
                )

    def ok(self) -> None:
        """A database round trip worked: if the database was away, say it is back."""
        if self._since is None:  # the common case: no lock, nothing to do
            return
        with self._lock:
            if self._since is None:
                return
            self.back_at = time.monotonic()
            gone = self.back_at - self._since
            self._since = self._since_wall = None
        logger.warning(
            "worker=%s database reachable again after %s", self.worker_id, _duration(gone)
        )
