"""Wake-ups through PostgreSQL LISTEN/NOTIFY, so an idle worker starts a new job within
milliseconds of its commit instead of at the next poll. Polling stays as the fallback: when the
listener's connection drops, it reconnects with backoff while the worker keeps polling."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import connection

logger = logging.getLogger("jobs.worker")

CHANNEL = "jobs_queued"
CONTROL_CHANNEL = "jobs_controls"  # a queue was paused, resumed, limited or held


class QueueListener:
    def __init__(
        self,
        on_notify: Callable[[str], None],
        on_control: Callable[[str], None] | None = None,
    ) -> None:
        self.on_notify = on_notify
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

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        params.pop("prepare_threshold", None)
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
                    while not self._stop.is_set():
                        for notify in conn.notifies(timeout=1.0):
                            if notify.channel == CONTROL_CHANNEL and self.on_control:
                                self.on_control(notify.payload)
                            else:
                                self.on_notify(notify.payload)
            except Exception as exc:  # the worker keeps polling meanwhile
                logger.warning("LISTEN connection lost (%s); reconnecting in %.1fs", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
