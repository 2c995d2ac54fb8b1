"""What every scenario shares: the databases, processes, sizes and a few statistics."""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
PEERS_DIR = BENCH / ".peers"
PEERS_PYTHON = PEERS_DIR / "venv" / "bin" / "python"
OUR_PYTHON = Path(sys.executable)
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/jobs_bench"


@dataclass(frozen=True)
class Sizes:
    drain_jobs: int
    drain_processes: tuple[int, ...]
    drain_cap: float  # seconds; a slower system is measured over the jobs it did by then
    io_jobs: int
    io_cap: float
    io_concurrency: int
    latency_jobs: int
    latency_mean_gap: float
    enqueue_single: int
    enqueue_bulk: int
    claim_finished: tuple[int, ...]
    claim_waiting: int
    memory_jobs: tuple[int, int]  # resident memory of one worker after this many, then this many
    memory_cap: float
    pgbouncer_processes: int
    reads_rows: int
    reads_last_hour: int


FULL = Sizes(
    drain_jobs=20_000,
    drain_processes=(1, 2, 4),
    drain_cap=20.0,
    io_jobs=1_000,
    io_cap=25.0,
    io_concurrency=32,
    latency_jobs=200,
    latency_mean_gap=0.05,
    enqueue_single=2_000,
    enqueue_bulk=20_000,
    claim_finished=(10_000, 100_000, 1_000_000),
    claim_waiting=100_000,
    memory_jobs=(10_000, 200_000),
    memory_cap=300.0,
    pgbouncer_processes=8,
    reads_rows=1_000_000,
    reads_last_hour=100_000,
)
QUICK = Sizes(
    drain_jobs=3_000,
    drain_processes=(1, 2),
    drain_cap=10.0,
    io_jobs=300,
    io_cap=8.0,
    io_concurrency=32,
    latency_jobs=60,
    latency_mean_gap=0.05,
    enqueue_single=300,
    enqueue_bulk=3_000,
    claim_finished=(10_000, 100_000),
    claim_waiting=10_000,
    memory_jobs=(2_000, 20_000),
    memory_cap=60.0,
    pgbouncer_processes=4,
    reads_rows=100_000,
    reads_last_hour=10_000,
)


def database_url(base: str, suffix: str = "") -> str:
    """The URL of the benchmark database, or of a sibling database named ``<name>_<suffix>``."""
    parts = urlsplit(base)
    name = parts.path.lstrip("/")
    if suffix:
        name = f"{name}_{suffix}"
    return urlunsplit(parts._replace(path=f"/{name}"))


def conninfo(url: str) -> str:
    """psycopg takes postgres:// URLs as they are; this only normalises the scheme."""
    return url.replace("postgres://", "postgresql://", 1)


def recreate_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(conninfo(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def scalar(url: str, sql: str, params: tuple = ()) -> object:
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        row = conn.execute(sql, params).fetchone()
        return row[0] if row else None


def run_json(cmd: list[str], env: dict[str, str], timeout: float = 1800) -> dict:
    """Run a tool that prints one JSON object as its last line of output; return it."""
    import json

    done = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else {}


def base_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env |= {"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    env |= extra
    return env


class Processes:
    """Worker processes started together and stopped together (by their own pids)."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def start(self, cmd: list[str], env: dict[str, str], label: str) -> subprocess.Popen:
        log = RESULTS / "logs" / f"{label}-{len(self.procs)}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        out = log.open("w")
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        self.procs.append(proc)
        self.logs.append(log)
        return proc

    def peak_memory_mb(self) -> float | None:
        """The largest peak resident size (VmHWM) among the running processes, in MiB."""
        peaks = []
        for proc in self.procs:
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        return max(peaks) if peaks else None

    def resident_mb(self) -> float | None:
        """The resident size now (VmRSS) of the first process, in MiB."""
        try:
            status = Path(f"/proc/{self.procs[0].pid}/status").read_text()
        except (OSError, IndexError):
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return None

    def alive(self) -> bool:
        return any(proc.poll() is None for proc in self.procs)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 10
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def ensure_peers_venv() -> None:
    """Create bench/.peers/venv and install the peers there (once; again when the list changes)."""
    requirements = BENCH / "peers" / "requirements.txt"
    marker = PEERS_DIR / "installed.txt"
    wanted = requirements.read_text()
    if PEERS_PYTHON.exists() and marker.exists() and marker.read_text() == wanted:
        return
    log("installing the peers into bench/.peers/venv (once)")
    PEERS_DIR.mkdir(exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(PEERS_DIR / "venv")], check=True)
    subprocess.run(
        [str(PEERS_PYTHON), "-m", "pip", "install", "-q", "-r", str(requirements)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    marker.write_text(wanted)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """Debian's redis-server for Celery's broker: on a free port of 127.0.0.1, nothing saved
    to disk, stopped (by its own pid) when the benchmark ends."""

    def __init__(self) -> None:
        import shutil

        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        import socket

        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("redis-server did not start (scripts/install-system-deps)")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
