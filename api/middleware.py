"""ASGI middleware: request ids, request metrics and log lines, the body size limit, and
text a body may not carry."""

from __future__ import annotations

import json
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
from ferryman.validation import lone_surrogate

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
        message = f"the request body is larger than the limit of {self.limit} bytes"
        await _refuse(scope, send, 413, message, ErrorCode.BODY_TOO_LARGE)


class BodyTextMiddleware:
    """Answer 422 for a JSON or YAML body that spells a lone UTF-16 surrogate (`"\\ud800"`).

    Such a string is no text: it parses, then fails wherever it is encoded (Temporal's
    payloads, PostgreSQL, the answer), long after an idempotency key was reserved for it.
    Every body passes here before any route reads it, so one check covers them all. The
    body is read whole first (within the body limit, which wraps this middleware).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left: let the app see it
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1")
        lone = _lone_surrogate(body, content_type)
        if lone is not None:
            sentence = (
                f"the body spells {lone}, half of a UTF-16 surrogate pair, which is not text: "
                "send characters as UTF-8 (or, in JSON, as a whole \\ud83d\\ude80 pair)"
            )
            details = [{"loc": ["body"], "msg": sentence, "type": "lone_surrogate"}]
            await _refuse(scope, send, 422, sentence, ErrorCode.VALIDATION_ERROR, details)
            return
        request = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, _replay([request], receive), send)


def _lone_surrogate(body: bytes, content_type: str) -> str | None:
    """What `lone_surrogate` finds in a body, decoded as its parser would decode it (JSON
    takes UTF-8, -16 or -32 and lets surrogates through); None for other media types and
    for bytes that do not decode (the route's parser refuses those in its own words)."""
    is_yaml = "yaml" in content_type
    if content_type and not is_yaml and "json" not in content_type:
        return None
    try:
        text = body.decode(json.detect_encoding(body), "surrogatepass")
    except (UnicodeDecodeError, LookupError):
        return None
    return lone_surrogate(text, json_pairs=not is_yaml)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """`receive` that gives `messages` first, then what the client sends next."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _refuse(
    scope: Scope, send: Send, status: int, message: str, code: ErrorCode, details: Any = None
) -> None:
    """Answer with the error envelope before the app has seen the request."""
    body = error_body(scope.get("state", {}).get("request_id", ""), message, code, details)
    await send(
        {
            "type": "http.response.start",
            "status": status,
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
