"""A small real HTTP server on 127.0.0.1 for `http` steps to call."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/users/"):
            name = self.path.removeprefix("/users/")
            self._send(200, {"name": name.title(), "key": self.headers.get("Idempotency-Key")})
        elif self.path == "/healthz":
            self._send(200, {"status": "ok"})
        elif self.path == "/down":
            self._send(503, {"error": "down"})
        else:
            self._send(404, {"error": "no such route"})

    def _send(self, status: int, body: object) -> None:
        encoded = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def http_target() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
