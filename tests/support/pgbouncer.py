"""Debian's PgBouncer in transaction pooling mode, started for the tests on a free local port.

The scale-out configuration of the README ("Scaling out"): web processes and workers connect
through PgBouncer (``DATABASE_URL``) with prepared statements off (``JOBS_PREPARED_STATEMENTS=
false``; PgBouncer 1.18 cannot keep them in transaction mode), and each worker's LISTEN goes
straight to PostgreSQL (``JOBS_LISTEN_DATABASE_URL``). ``scripts/install-system-deps``
installs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

BINARY_PATHS = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")

CONFIG = """\
[databases]
* = host={host} port={port} user={user}{password}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen_port}
unix_socket_dir =
auth_type = any
pool_mode = transaction
admin_users = {user}
max_client_conn = 500
default_pool_size = {pool_size}
reserve_pool_size = 0
server_reset_query =
server_check_delay = 0
server_login_retry = 1
query_wait_timeout = 5
ignore_startup_parameters = extra_float_digits,options
logfile = {log}
pidfile = {pidfile}
"""


def binary() -> str | None:
    for path in BINARY_PATHS:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("pgbouncer")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PgBouncer:
    """One PgBouncer process in front of the PostgreSQL server of ``direct_url``; ``url(name)``
    is the address of database ``name`` through it. Stop it with :meth:`stop` (its own pid)."""

    def __init__(self, direct_url: str, *, pool_size: int = 20) -> None:
        path = binary()
        if path is None:
            raise RuntimeError("pgbouncer is not installed (scripts/install-system-deps)")
        self.direct_url = direct_url
        parts = urlsplit(direct_url)
        self.dir = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
        self.port = free_port()
        self.log = self.dir / "pgbouncer.log"
        config = self.dir / "pgbouncer.ini"
        config.write_text(
            CONFIG.format(
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 5432,
                user=parts.username or "postgres",
                password=f" password={parts.password}" if parts.password else "",
                listen_port=self.port,
                pool_size=pool_size,
                log=self.log,
                pidfile=self.dir / "pgbouncer.pid",
            )
        )
        command = [path, "-q", str(config)]
        if os.geteuid() == 0:  # PgBouncer refuses to run as root
            os.chmod(self.dir, 0o777)  # the temporary folder, for the user it runs as
            command[1:1] = ["-u", "nobody"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_ready()

    def url(self, database: str | None = None) -> str:
        """The URL of ``database`` (by default the direct URL's) through PgBouncer."""
        parts = urlsplit(self.direct_url)
        name = database or parts.path.lstrip("/")
        user = parts.username or "postgres"
        return urlunsplit(parts._replace(netloc=f"{user}@127.0.0.1:{self.port}", path=f"/{name}"))

    def clients(self) -> list[dict[str, str]]:
        """``SHOW CLIENTS`` of PgBouncer's admin console: who is connected through it."""
        admin = self.url("pgbouncer").replace("postgres://", "postgresql://", 1)
        with psycopg.connect(admin, autocommit=True, prepare_threshold=None) as conn:
            cursor = conn.execute("SHOW CLIENTS")
            names = [column.name for column in cursor.description or []]
            return [dict(zip(names, map(str, row), strict=True)) for row in cursor.fetchall()]

    def _wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        conninfo = self.url().replace("postgres://", "postgresql://", 1)
        while True:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"pgbouncer exited: {error} {self._log_tail()}")
            try:
                with psycopg.connect(conninfo, connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"pgbouncer did not answer: {self._log_tail()}") from None
                time.sleep(0.1)

    def _log_tail(self) -> str:
        try:
            return self.log.read_text()[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)
