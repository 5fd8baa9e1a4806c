"""ASGI middleware: request ids, request metrics and log lines, the body size limit."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ferryman import metrics
from ferryman.api.codes import ErrorCode
from ferryman.api.envelope import error_body
from ferryman.logging import noting_runs

log = structlog.get_logger("ferryman.api")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Probes and scrapes: many a minute, each the same; counted, logged only when asked.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class RequestContextMiddleware:
    """Give every request an id (echoing a sane `X-Request-ID`) and bind it to the logs;
    once answered, count it (`ferryman.metrics`) and log it in one line (`request`: method,
    route template, status, duration, request id, project, run id). Probes and scrapes
    (`QUIET_PATHS`) are counted but not logged unless `log_probes`."""

    def __init__(self, app: ASGIApp, log_probes: bool = False) -> None:
        self.app = app
        self.log_probes = log_probes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        sent = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500  # what the server answers if the app fails before starting a response

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        with noting_runs() as runs:
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                self._answered(scope, status, time.perf_counter() - started, runs)
                structlog.contextvars.unbind_contextvars("request_id")

    def _answered(self, scope: Scope, status: int, seconds: float, runs: list[str]) -> None:
        method, route = scope["method"], route_template(scope)
        metrics.API.request(method, route, status, seconds)
        if scope["path"] in QUIET_PATHS and not self.log_probes:
            return
        state = scope.get("state", {})
        path_params = scope.get("path_params", {})
        started_runs = runs
        run_id = path_params.get("run_id") or path_params.get("execution_id")
        if run_id is None and len(started_runs) == 1:
            run_id = started_runs[0]
        log.info(
            "request",
            method=method,
            route=route,
            status=status,
            duration_ms=round(seconds * 1000, 3),
            project=state.get("project"),
            run_id=run_id,
            **({"runs_started": len(started_runs)} if len(started_runs) > 1 else {}),
        )


def route_template(scope: Scope) -> str:
    """The route that answered, as its template (`/v1/runs/{run_id}`), never the raw
    path: one label and one log value per route. A path no route matched is `unmatched`."""
    route = scope.get("route")
    if route is None:
        return metrics.UNMATCHED
    template = _templates(scope["app"]).get(id(route)) or getattr(route, "path", None)
    return str(template) if template else metrics.UNMATCHED


def _templates(app: Any) -> dict[int, str]:
    """Each route's full template, prefixes included (a route included under a prefix
    knows only its own part), computed once per app."""
    cached: dict[int, str] | None = getattr(app.state, "route_templates", None)
    if cached is None:
        cached = {
            id(context.original_route): context.path_format
            for context in iter_route_contexts(app.routes)
            if context.path_format
        }
        app.state.route_templates = cached
    return cached


class BodyLimitMiddleware:
    """Answer 413 for bodies over `limit` bytes, before the app reads them whole."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._reject(scope, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge(self.limit)
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._reject(scope, send)

    async def _reject(self, scope: Scope, send: Send) -> None:
        body = error_body(
            scope.get("state", {}).get("request_id", ""),
            f"the request body is larger than the limit of {self.limit} bytes",
            ErrorCode.BODY_TOO_LARGE,
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(HTTPException):
    """Raised from `receive`; FastAPI re-raises HTTPExceptions, so the envelope handler answers."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")
