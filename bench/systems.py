"""The systems compared, each behind the same small interface: set up its database, queue jobs,
start its worker processes, count the jobs it finished."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from bench.common import (
    OUR_PYTHON,
    PEERS_PYTHON,
    ROOT,
    base_env,
    conninfo,
    database_url,
    recreate_database,
    run_json,
)


@dataclass
class System:
    key: str
    label: str
    url: str
    done_sql: str
    env: dict[str, str] = field(default_factory=dict)
    concurrency_option: bool = True  # can one process run several jobs at once?
    bulk_enqueue: bool = True

    def setup(self) -> None:
        recreate_database(self.url)

    def reset(self) -> None:
        self.tool("reset")

    def fill(self, kind: str, count: int) -> None:
        self.tool("fill", "--kind", kind, "--count", str(count))

    def enqueue_rate(self, single: int, bulk: int) -> dict:
        return self.tool("enqueue-rate", "--single", str(single), "--bulk", str(bulk))

    def latency_feed(self, count: int, mean_gap: float, out: str) -> None:
        self.tool("latency", "--count", str(count), "--mean-gap", str(mean_gap), "--out", out)

    def worker_cmd(self, concurrency: int, *, latency: bool = False) -> list[str]:
        raise NotImplementedError

    def tool(self, *args: str) -> dict:
        raise NotImplementedError

    def done_counter(self) -> Callable[[], int]:
        """A function that returns how many jobs have finished (called ten times a second)."""
        conn = psycopg.connect(conninfo(self.url), autocommit=True)
        self._closing.append(conn)
        return lambda: conn.execute(self.done_sql).fetchone()[0]

    def close_counters(self) -> None:
        for conn in self._closing:
            conn.close()
        self._closing.clear()

    @property
    def _closing(self) -> list:
        return self.__dict__.setdefault("_counter_conns", [])


class Ours(System):
    KEY, LABEL, SUFFIX, SETTINGS = "ours", "ours (jobs)", "", "config.settings"

    def __init__(self, base_url: str) -> None:
        url = database_url(base_url, self.SUFFIX)
        super().__init__(
            key=self.KEY,
            label=self.LABEL,
            url=url,
            done_sql="SELECT count(*) FROM jobs_job WHERE status = 'succeeded'",
            env=base_env(
                DATABASE_URL=url,
                JOBS_HANDLER_MODULES="bench.handlers",
                LOG_LEVEL="WARNING",
                DJANGO_SETTINGS_MODULE=self.SETTINGS,
            ),
        )

    def setup(self) -> None:
        super().setup()
        subprocess.run(
            [str(OUR_PYTHON), "manage.py", "migrate", "--noinput", "-v0"],
            env=self.env,
            check=True,
            cwd=ROOT,
        )

    def worker_cmd(self, concurrency: int, *, latency: bool = False) -> list[str]:
        cmd = [str(OUR_PYTHON), "manage.py", "runworker", "--concurrency", str(concurrency)]
        return cmd

    def tool(self, *args: str) -> dict:
        return run_json([str(OUR_PYTHON), "-m", "bench.ours_tool", *args], self.env)


class OursQueueOnly(Ours):
    """The queue without the product's apps: no hook receivers at all (the "before" of the
    hooks; see bench/queue_only_settings.py)."""

    KEY, LABEL, SUFFIX = "queue_only", "ours, queue alone", "queue"
    SETTINGS = "bench.queue_only_settings"


class DjangoTasksDB(System):
    def __init__(self, base_url: str) -> None:
        url = database_url(base_url, "dtdb")
        super().__init__(
            key="dtdb",
            label="django-tasks-db",
            url=url,
            done_sql=(
                "SELECT count(*) FROM django_tasks_database_dbtaskresult"
                " WHERE status = 'SUCCESSFUL'"
            ),
            env=base_env(BENCH_DTDB_URL=url, DJANGO_SETTINGS_MODULE="bench.peers.dtdb_settings"),
            concurrency_option=False,
            bulk_enqueue=False,
        )

    def setup(self) -> None:
        super().setup()
        self.tool("setup")

    def worker_cmd(self, concurrency: int, *, latency: bool = False) -> list[str]:
        # One task at a time is all db_worker does; its defaults otherwise (1 s poll interval).
        return [str(PEERS_PYTHON), "-m", "django", "db_worker", "--no-startup-delay", "-v0"]

    def tool(self, *args: str) -> dict:
        return run_json([str(PEERS_PYTHON), "-m", "bench.peers.dtdb_tool", *args], self.env)


class Procrastinate(System):
    def __init__(self, base_url: str) -> None:
        url = database_url(base_url, "procrastinate")
        super().__init__(
            key="procrastinate",
            label="Procrastinate",
            url=url,
            done_sql="SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'",
            env=base_env(BENCH_PROCRASTINATE_URL=url),
        )

    def setup(self) -> None:
        super().setup()
        self.tool("setup")

    def worker_cmd(self, concurrency: int, *, latency: bool = False) -> list[str]:
        return [
            str(PEERS_PYTHON),
            "-m",
            "procrastinate",
            "--app=bench.peers.procrastinate_app.app",
            "worker",
            "--concurrency",
            str(concurrency),
        ]

    def tool(self, *args: str) -> dict:
        cmd = [str(PEERS_PYTHON), "-m", "bench.peers.procrastinate_tool", *args]
        return run_json(cmd, self.env)


class RawSQL(System):
    def __init__(self, base_url: str, batch: int = 1) -> None:
        url = database_url(base_url, "raw")
        super().__init__(
            key="raw" if batch == 1 else f"raw{batch}",
            label="raw SQL, 1 job/claim" if batch == 1 else f"raw SQL, {batch} jobs/claim",
            url=url,
            done_sql="SELECT count(*) FROM raw_job WHERE status = 'succeeded'",
            env=base_env(BENCH_RAW_URL=url),
        )
        self.batch = batch

    def setup(self) -> None:
        super().setup()
        self.tool("schema")

    def reset(self) -> None:
        self.tool("fill", "--count", "0")

    def fill(self, kind: str, count: int) -> None:
        self.tool("fill", "--count", str(count))

    def worker_cmd(self, concurrency: int, *, latency: bool = False) -> list[str]:
        return [str(OUR_PYTHON), "-m", "bench.raw", "worker", "--batch", str(self.batch)]

    def tool(self, *args: str) -> dict:
        return run_json([str(sys.executable), "-m", "bench.raw", *args], self.env)


class Celery(System):
    """Celery 5 with its Redis broker (a redis-server the benchmark starts on a free port), each
    worker process with the thread pool and as many threads as ours (``--pool threads``)."""

    def __init__(self, base_url: str, broker: str) -> None:
        url = database_url(base_url, "celery")
        super().__init__(
            key="celery",
            label="Celery (Redis)",
            url=url,
            done_sql="",
            env=base_env(BENCH_CELERY_BROKER=broker, BENCH_CELERY_DB_URL=url),
        )
        self.broker = broker

    def worker_cmd(self, concurrency: int, *, latency: bool = False) -> list[str]:
        return [
            str(PEERS_PYTHON),
            *("-m", "celery", "--app=bench.peers.celery_app.app", "worker"),
            *("--pool", "threads", "--concurrency", str(concurrency), "--loglevel", "WARNING"),
        ]

    def done_counter(self) -> Callable[[], int]:
        import socket
        from urllib.parse import urlsplit

        parts = urlsplit(self.broker)
        sock = socket.create_connection((parts.hostname, parts.port))
        self._closing.append(sock)
        reader = sock.makefile("rb")

        def count() -> int:  # GET bench:done in Redis' own protocol (no client library here)
            sock.sendall(b"*2\r\n$3\r\nGET\r\n$10\r\nbench:done\r\n")
            header = reader.readline()
            if header.startswith(b"$-1"):
                return 0
            value = reader.readline()
            return int(value)

        return count

    def tool(self, *args: str) -> dict:
        return run_json([str(PEERS_PYTHON), "-m", "bench.peers.celery_tool", *args], self.env)
