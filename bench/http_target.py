"""`python -m bench.http_target PORT`: the local HTTP service every side's steps call.

A bare ASGI callable under uvicorn (httptools, uvloop), bound to 127.0.0.1: each request is
answered at once with a small JSON body (a 404 under `/missing`, for runs meant to fail), so
the service costs a fraction of a millisecond of CPU per request and is never what a side
waits on (the bench reports its CPU). `served` counts the requests answered so far, so a
test can check that a run made the calls it should.
"""

from __future__ import annotations

import json
import sys

import uvicorn
from starlette.types import Receive, Scope, Send

HEADERS = [(b"content-type", b"application/json")]
MISSING = "/missing"
served = 0


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    global served
    if scope["type"] != "http":
        return
    served += 1
    found = not scope["path"].startswith(MISSING)
    body = json.dumps({"ok": found, "served": served}).encode()
    status = 200 if found else 404
    await send({"type": "http.response.start", "status": status, "headers": HEADERS})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        lifespan="off",
        log_level="warning",
        access_log=False,
    )
