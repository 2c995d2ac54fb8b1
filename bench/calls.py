"""The work every system runs, in plain Python so that each system's task is the same code:
an HTTP call to the local chat server, and a timestamp of when a job started."""

from __future__ import annotations

import json
import os
import time
import urllib.request


def chat_call() -> int:
    """One chat completion against the local server (``BENCH_HTTP_URL``)."""
    body = json.dumps({"model": "bench", "messages": [{"role": "user", "content": "hi"}]})
    request = urllib.request.Request(
        os.environ["BENCH_HTTP_URL"],
        data=body.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        json.loads(response.read())
        return response.status


def stamp(key: int) -> None:
    """Append ``key`` and the wall-clock time to ``BENCH_STAMP_FILE`` (one short line, so
    appends from many processes never interleave)."""
    with open(os.environ["BENCH_STAMP_FILE"], "a") as out:
        out.write(f"{key} {time.time():.6f}\n")
