"""Wake-ups through PostgreSQL LISTEN/NOTIFY, so an idle worker starts a new job within
milliseconds of its commit instead of at the next poll. Polling stays as the fallback: when the
listener's connection drops, it reconnects with backoff while the worker keeps polling.

LISTEN needs a session of its own for as long as the worker runs, which a pooler in transaction
mode (PgBouncer) does not give: ``JOBS_LISTEN_DATABASE_URL`` points this one connection
straight at PostgreSQL while everything else goes through the pooler."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db import connection

from jobs import conf

if TYPE_CHECKING:
    from jobs.outage import Outage

logger = logging.getLogger("jobs.worker")

CHANNEL = "jobs_queued"
#: The longest wait between reconnections: wake-ups are back soon after the database is.
MAX_BACKOFF = 2.0
APPLICATION_NAME = "jobs-listener"  # how the connection shows in pg_stat_activity
CONTROL_CHANNEL = "jobs_controls"  # a queue was paused, resumed, limited or held


class QueueListener:
    def __init__(
        self,
        on_notify: Callable[[str], None],
        outage: Outage | None = None,
        on_control: Callable[[str], None] | None = None,
    ) -> None:
        self.on_notify = on_notify
        self.outage = outage
        self.on_control = on_control
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="listener", daemon=True)

    def start(self) -> None:
        if connection.vendor == "postgresql":
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        params = listen_connection_params()
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(**params, autocommit=True) as conn:
                    if self.on_control:
                        conn.execute(f"LISTEN {CONTROL_CHANNEL}")
                    # Last, so pg_stat_activity shows the queue's LISTEN (the fault tests look).
                    conn.execute(f"LISTEN {CHANNEL}")
                    if self.on_control:
                        self.on_control("")  # missed while disconnected: read them again
                    backoff = 0.5
                    if self.outage is not None:
                        self.outage.ok()
                    while not self._stop.is_set():
                        for notify in conn.notifies(timeout=1.0):
                            if notify.channel == CONTROL_CHANNEL and self.on_control:
                                self.on_control(notify.payload)
                            else:
                                self.on_notify(notify.payload)
            except Exception as exc:  # the worker keeps polling meanwhile
                if self.outage is not None and type(exc).__name__ in (
                    "OperationalError",
                    "InterfaceError",
                ):
                    self.outage.lost("listening for new jobs", exc)  # one line per outage
                else:
                    logger.warning(
                        "LISTEN connection lost (%s); reconnecting in %.1fs", exc, backoff
                    )
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)


def listen_connection_params() -> dict:
    """psycopg.connect() keywords of the LISTEN connection: ``JOBS_LISTEN_DATABASE_URL`` when
    set, otherwise the default database's own settings."""
    url = conf.listen_database_url()
    if url:
        params: dict = {"conninfo": url.replace("postgres://", "postgresql://", 1)}
    else:
        params = connection.get_connection_params()
        for key in ("cursor_factory", "context", "prepare_threshold", "pool"):
            params.pop(key, None)
    params["application_name"] = APPLICATION_NAME
    return params
