"""The benchmark's Celery app and tasks (runs in the peers' environment), with Redis as the
broker (``BENCH_CELERY_BROKER``, a redis-server the benchmark starts on a free local port).

No result backend, as most Celery deployments run: a task that finished adds one to a Redis
counter (``DONE_KEY``), which the benchmark reads the way it counts the other systems' finished
rows. That INCR is one Redis round trip per task: Celery's equivalent of marking a job done.
"""

from __future__ import annotations

import os

import redis
from celery import Celery

from bench import calls

DONE_KEY = "bench:done"

app = Celery("bench", broker=os.environ["BENCH_CELERY_BROKER"])
app.conf.update(
    task_ignore_result=True,
    worker_hijack_root_logger=False,
    worker_redirect_stdouts=False,
    broker_connection_retry_on_startup=True,
)
_counter = redis.Redis.from_url(os.environ["BENCH_CELERY_BROKER"])


@app.task(name="noop")
def noop(key: int) -> int:
    _counter.incr(DONE_KEY)
    return key


@app.task(name="http")
def http(key: int) -> int:
    status = calls.chat_call()
    _counter.incr(DONE_KEY)
    return status


@app.task(name="stamp")
def stamp(key: int) -> None:
    calls.stamp(key)
    _counter.incr(DONE_KEY)
