"""The benchmark's Procrastinate app and tasks (runs in the peers' environment)."""

from __future__ import annotations

import os

from procrastinate import App, PsycopgConnector

from bench import calls

app = App(
    connector=PsycopgConnector(
        conninfo=os.environ["BENCH_PROCRASTINATE_URL"].replace("postgres://", "postgresql://", 1)
    )
)


@app.task(name="noop")
def noop(key: int) -> int:
    return key


@app.task(name="http")
def http(key: int) -> int:
    return calls.chat_call()


@app.task(name="stamp")
def stamp(key: int) -> None:
    calls.stamp(key)
