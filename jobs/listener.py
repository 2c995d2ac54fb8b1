"""Wake-ups through PostgreSQL LISTEN/NOTIFY, so an idle worker starts a new job within
milliseconds of its commit instead of at the next poll. Polling stays as the fallback: when the
listener's connection drops, it reconnects with backoff while the worker keeps polling."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db import connection

if TYPE_CHECKING:
    from jobs.outage import Outage

logger = logging.getLogger("jobs.worker")

CHANNEL = "jobs_queued"
#: The longest wait between reconnections: wake-ups are back soon after the database is.
MAX_BACKOFF = 2.0


class QueueListener:
    def __init__(self, on_notify: Callable[[str], None], outage: Outage | None = None) -> None:
        self.on_notify = on_notify
        self.outage = outage
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

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        params.pop("prepare_threshold", None)
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(**params, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    backoff = 0.5
                    if self.outage is not None:
                        self.outage.ok()
                    while not self._stop.is_set():
                        for notify in conn.notifies(timeout=1.0):
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
