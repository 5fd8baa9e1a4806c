"""A small real HTTP server on 127.0.0.1 for `http` steps to call.

Routes: `/users/<name>`, `/healthz`, `/down` (503), `/fail` (500), `/echo` (the query and
headers it got), `/redirect?to=<url>` (302), `/once-slow/<token>?secs=N` (the first call for a
token takes N seconds, later ones answer at once: a step in flight when its worker dies).
`/fail-until/<token>?times=N` (503 for a token's first N calls, then 200: a service that comes
back). `HITS` counts the calls per path (without the query).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

HITS: Counter[str] = Counter()
_HITS_LOCK = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {name: values[-1] for name, values in parse_qs(url.query).items()}
        with _HITS_LOCK:
            HITS[url.path] += 1
            hits = HITS[url.path]
        if url.path.startswith("/users/"):
            name = url.path.removeprefix("/users/")
            self._send(200, {"name": name.title(), "key": self.headers.get("Idempotency-Key")})
        elif url.path == "/healthz":
            self._send(200, {"status": "ok"})
        elif url.path == "/down":
            self._send(503, {"error": "down"})
        elif url.path == "/fail":
            self._send(500, {"error": "failed", "query": query})
        elif url.path == "/echo":
            self._send(200, {"query": query, "headers": dict(self.headers.items())})
        elif url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query["to"])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path.startswith("/fail-until/"):
            if hits <= int(query.get("times", "1")):
                self._send(503, {"error": "down", "calls": hits})
            else:
                self._send(200, {"calls": hits})
        elif url.path.startswith("/once-slow/"):
            if hits == 1:
                time.sleep(float(query.get("secs", "30")))
            self._send(200, {"calls": hits})
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
