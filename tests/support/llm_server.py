"""A local OpenAI-compatible server for `llm` steps: `POST /v1/chat/completions`.

Each test scripts its own model: `model = llm_server.script([Reply(...), Reply(...)])`
returns a fresh model name whose calls get those replies in order (a call past the end, or
for a model never scripted, is a 404 as OpenAI words it), so nothing leaks between tests.
A reply is a completion (text and/or tool calls, usage, the model it claims to be), streamed
as server-sent events when the request says `stream: true` (pieces `delay` seconds apart,
usage last when `stream_options.include_usage`, then `[DONE]`; `hold` stops the stream
after `hold_after` pieces until the test sets it), or an error (`status`, an OpenAI-style
body whose message may quote `{key}`, the bearer token received, and `Retry-After`), or
`raw` bytes; `latency` delays any of them. Every request is recorded, headers included:
`llm_server.received(model)`.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

HOLD_LIMIT_SECS = 30.0  # a held stream goes on by itself after this, so no test hangs


@dataclass(frozen=True)
class ToolCall:
    name: str  # the function name, as the model would say it
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str | None = None  # default: call_<n>


@dataclass
class Reply:
    """One scripted answer."""

    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None  # default: tool_calls when there are any, else stop
    prompt_tokens: int = 11
    completion_tokens: int = 7
    model: str | None = None  # the model the answer names; default: the one asked for
    status: int = 200
    error: str = "scripted failure"  # the error body's message; `{key}`: the bearer token
    retry_after: str | None = None
    raw: bytes | None = None  # sent as is (with `status`), instead of a completion
    delay: float = 0.02  # seconds between streamed pieces
    latency: float = 0.0  # seconds before answering at all
    hold: threading.Event | None = None
    hold_after: int = 1  # streamed pieces sent before waiting for `hold`


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: dict[str, Any]


class LlmServer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[str, list[Reply]] = {}
        self._received: list[Received] = []
        self._names = itertools.count(1)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def script(self, replies: list[Reply], model: str | None = None) -> str:
        """The model name whose calls get `replies`, one per call, in order."""
        name = model or f"scripted-{next(self._names)}"
        with self._lock:
            self._scripts[name] = list(replies)
        return name

    def received(self, model: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self._received if model is None or r.body.get("model") == model]

    def _take(self, received: Received) -> Reply | None:
        with self._lock:
            self._received.append(received)
            replies = self._scripts.get(str(received.body.get("model")))
            return replies.pop(0) if replies else None

    def start(self) -> None:
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _handler(server: LlmServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        llm = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    llm: LlmServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._error(400, "the body is not JSON", "invalid_request_error")
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._error(404, f"no route {self.path}", "invalid_request_error")
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.llm._take(Received(self.path, headers, body))
        if reply is not None:
            time.sleep(reply.latency)
        if reply is None:
            model = body.get("model")
            self._error(404, f"The model `{model}` does not exist", "model_not_found")
        elif reply.raw is not None:
            self._send(reply.status, reply.raw, "application/json")
        elif reply.status != 200:
            self._scripted_error(reply, headers)
        elif body.get("stream"):
            self._stream(reply, body)
        else:
            self._json(200, _completion(reply, body))

    def _scripted_error(self, reply: Reply, headers: dict[str, str]) -> None:
        token = headers.get("authorization", "").removeprefix("Bearer ")
        extra = {"Retry-After": reply.retry_after} if reply.retry_after else {}
        self._error(reply.status, reply.error.replace("{key}", token), "scripted", extra)

    def _stream(self, reply: Reply, body: dict[str, Any]) -> None:
        # HTTP/1.0 without a length: the body ends when the connection closes.
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self._event(": keep-alive comment, which clients ignore\n\n")
        usage = bool((body.get("stream_options") or {}).get("include_usage"))
        for number, chunk in enumerate(_chunks(reply, body, usage)):
            if reply.hold is not None and number == reply.hold_after:
                reply.hold.wait(HOLD_LIMIT_SECS)
            self._event(f"data: {json.dumps(chunk)}\n\n")
            time.sleep(reply.delay)
        self._event("data: [DONE]\n\n")

    def _event(self, text: str) -> None:
        self.wfile.write(text.encode())
        self.wfile.flush()

    def _error(
        self, status: int, message: str, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        error = {"message": message, "type": kind, "param": None, "code": kind}
        self._json(status, {"error": error}, headers)

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    def _send(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def _usage(reply: Reply) -> dict[str, int]:
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }


def _finish_reason(reply: Reply) -> str:
    return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")


def _tool_call(reply: Reply, index: int) -> tuple[str, ToolCall]:
    call = reply.tool_calls[index]
    return call.id or f"call_{index + 1}", call


def _completion(reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
    tool_calls = []
    for index in range(len(reply.tool_calls)):
        call_id, call = _tool_call(reply, index)
        function = {"name": call.name, "arguments": json.dumps(call.arguments)}
        tool_calls.append({"id": call_id, "type": "function", "function": function})
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-local",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model or body.get("model"),
        "choices": [{"index": 0, "message": message, "finish_reason": _finish_reason(reply)}],
        "usage": _usage(reply),
    }


def _chunks(reply: Reply, body: dict[str, Any], usage: bool) -> Iterator[dict[str, Any]]:
    """The chunks of a streamed answer: the role, the text word by word, each tool call
    with its arguments in three pieces, the finish reason, the usage."""
    model = reply.model or body.get("model")

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return {
            "id": "chatcmpl-local",
            "object": "chat.completion.chunk",
            "model": model,
            "choices": [choice],
        }

    yield chunk({"role": "assistant", "content": ""})
    for word in re.findall(r"\S+\s*|\s+", reply.content or ""):
        yield chunk({"content": word})
    for index in range(len(reply.tool_calls)):
        call_id, call = _tool_call(reply, index)
        arguments = json.dumps(call.arguments)
        third = max(len(arguments) // 3, 1)
        pieces = [arguments[:third], arguments[third : 2 * third], arguments[2 * third :]]
        first = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        yield chunk({"tool_calls": [first]})
        for piece in pieces:
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, _finish_reason(reply))
    if usage:
        yield {
            "id": "chatcmpl-local",
            "object": "chat.completion.chunk",
            "model": model,
            "choices": [],
            "usage": _usage(reply),
        }


@pytest.fixture(scope="session")
def llm_server() -> Iterator[LlmServer]:
    server = LlmServer()
    server.start()
    yield server
    server.stop()
