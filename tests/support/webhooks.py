"""An integrator's webhook receiver for the tests: a real HTTP server on loopback that records
every request, answers each path as it is told (fail the first N attempts of each delivery, or
always), and counts deliveries as a Standard Webhooks receiver does: by ``webhook-id``."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WEBHOOK_PORT = 18098  # allow-listed for the e2e platform (SUARA_WEBHOOK_ALLOWED_HOSTS)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def event(self) -> dict:
        return json.loads(self.body)

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    def __init__(self, port: int = WEBHOOK_PORT):
        self.port = port
        self.got: list[Received] = []
        self._fail_first: dict[str, int] = {}  # path -> attempts of each delivery to fail
        self._failed: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver._answer(self.path, headers.get("webhook-id", ""))
                with receiver._lock:
                    receiver.got.append(Received(self.path, headers, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _answer(self, path: str, webhook_id: str) -> int:
        with self._lock:
            fail = self._fail_first.get(path, 0)
            done = self._failed.get((path, webhook_id), 0)
            if done < fail:
                self._failed[(path, webhook_id)] = done + 1
                return 503
        return 200

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def fail(self, path: str, first: int) -> None:
        """Answer 503 to the first ``first`` attempts of each delivery to ``path``."""
        with self._lock:
            self._fail_first[path] = first

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.got if r.path == path]

    def delivered(self, path: str) -> dict[str, Received]:
        """The deliveries to ``path`` the receiver accepted, by webhook-id (its idempotency
        key): what a receiver that follows Standard Webhooks processes."""
        return {r.webhook_id: r for r in self.at(path) if r.answered == 200}

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
