"""``runworker --health-port``: a tiny HTTP server answering ``GET /health`` with JSON."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobs.worker import WorkerProcess


class HealthServer:
    def __init__(self, worker: WorkerProcess, host: str, port: int) -> None:
        self.worker = worker
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="health", daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def snapshot(self) -> dict[str, Any]:
        worker = self.worker
        return {
            "worker_id": worker.id,
            "status": worker.status,
            "queues": worker.queues or ["*"],
            "concurrency": worker.concurrency,
            "active_jobs": worker.active_count,
            "uptime": round(worker.uptime(), 3),
            "processed": worker.succeeded + worker.failed,
            "succeeded": worker.succeeded,
            "failed": worker.failed,
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/health":
                    self._send(404, {"error": "Not found. Try GET /health."})
                    return
                body = server.snapshot()
                self._send(200 if body["status"] == "running" else 503, body)

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
