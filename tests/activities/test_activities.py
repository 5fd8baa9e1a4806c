"""The `http` step kind, the example activities and the registry, run as real activities."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from ferryman.activities import http as http_activity
from ferryman.activities.registry import StepTask, registered
from ferryman.processes import free_port
from ferryman.worker import BUILTIN_ACTIVITY_MODULES

STATUS_ROUTE = "/status/"


class _Handler(BaseHTTPRequestHandler):
    def _route(self) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if path.startswith(STATUS_ROUTE):
            self._send(int(path.removeprefix(STATUS_ROUTE)), {"error": "as asked"})
        elif path == "/echo":
            self._send(
                200,
                {
                    "method": self.command,
                    "query": parse_qs(urlsplit(self.path).query),
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                },
            )
        elif path == "/text":
            self._send(200, "plain words", content_type="text/plain")
        elif path == "/big":
            self._send(200, "x" * (http_activity.MAX_RESPONSE_BYTES + 10), "text/plain")
        elif path == "/slow":
            time.sleep(2)
            self._send(200, {})
        else:
            self._send(404, {"error": "no such route"})

    do_GET = do_POST = do_PUT = do_DELETE = _route

    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        encoded = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


async def call(params: dict[str, Any]) -> dict[str, Any]:
    task = StepTask(execution_id="exec_1", step_id="fetch", attempt=2, params=params)
    result: dict[str, Any] = await ActivityEnvironment().run(http_activity.http_request, task)
    return result


async def failure(params: dict[str, Any]) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        await call(params)
    return caught.value


async def test_request_is_sent_as_described(server: str) -> None:
    output = await call(
        {
            "method": "post",
            "url": f"{server}/echo?from=url",
            "headers": {"X-Trace": "t1"},
            "query": {"page": 2, "full": True},
            "json": {"a": [1, 2]},
        }
    )
    assert output["status"] == 200
    sent = output["json"]
    assert sent["method"] == "POST"
    # The URL's own query string is kept, `query` is added to it.
    assert sent["query"] == {"from": ["url"], "page": ["2"], "full": ["true"]}
    assert json.loads(sent["body"]) == {"a": [1, 2]}
    assert sent["headers"]["x-trace"] == "t1"
    assert sent["headers"]["idempotency-key"] == "exec_1:fetch"
    assert output["headers"]["content-type"] == "application/json"
    assert output["elapsed_ms"] > 0 and output["timing"]["ttfb_ms"] > 0


async def test_text_bodies_and_caps(server: str) -> None:
    text = await call({"url": f"{server}/text"})
    assert text["text"] == "plain words" and "json" not in text
    big = await call({"url": f"{server}/big"})
    assert big["truncated"] is True
    assert len(big["text"]) == http_activity.MAX_RESPONSE_BYTES


async def test_users_can_override_the_idempotency_key(server: str) -> None:
    output = await call({"url": f"{server}/echo", "headers": {"Idempotency-Key": "mine"}})
    assert output["json"]["headers"]["idempotency-key"] == "mine"


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429])
async def test_server_errors_and_throttling_are_retryable(server: str, status: int) -> None:
    error = await failure({"url": f"{server}{STATUS_ROUTE}{status}"})
    assert not error.non_retryable and error.type == "HttpRetryableError"
    assert f"answered {status}" in str(error)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_client_errors_are_not_retryable(server: str, status: int) -> None:
    error = await failure({"url": f"{server}{STATUS_ROUTE}{status}"})
    assert error.non_retryable and error.type == "HttpClientError"


async def test_connection_errors_and_timeouts_are_retryable(server: str) -> None:
    refused = await failure({"url": f"http://127.0.0.1:{free_port()}/"})
    assert not refused.non_retryable and "ConnectError" in str(refused)
    slow = await failure({"url": f"{server}/slow", "timeout_secs": 0.2})
    assert not slow.non_retryable and "timed out" in str(slow)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"url": "ftp://example.test/"}, "http:// or https://"),
        ({"url": "http://x.test/", "json": {}, "body": "b"}, "either `json` or `body`"),
        ({"url": "http://x.test/", "verb": "GET"}, "verb"),
        ({"url": "http://x.test/", "method": "BREW"}, "method"),
        ({}, "url"),
    ],
)
async def test_invalid_params_fail_at_once(params: dict[str, Any], fragment: str) -> None:
    error = await failure(params)
    assert error.non_retryable and error.type == "InvalidHttpParams"
    assert fragment in str(error)


async def test_secrets_resolve_inside_the_activity_only(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FERRYMAN_SECRET_TOKEN", "s3cret")
    output = await call(
        {"url": f"{server}/echo", "headers": {"Authorization": "Bearer ${{secret:TOKEN}}"}}
    )
    assert output["json"]["headers"]["authorization"] == "Bearer s3cret"
    missing = await failure({"url": f"{server}/echo", "headers": {"X": "${{secret:NOPE}}"}})
    assert missing.non_retryable and "FERRYMAN_SECRET_NOPE" in str(missing)


async def run_registered(name: str, params: dict[str, Any]) -> Any:
    from ferryman.activities.registry import load_modules

    load_modules(BUILTIN_ACTIVITY_MODULES)
    task = StepTask(execution_id="exec_1", step_id="s", params=params)
    return await ActivityEnvironment().run(registered()[name].defn, task)


async def test_json_validate_names_the_failing_path() -> None:
    schema = {"type": "object", "properties": {"age": {"type": "integer"}}}
    assert await run_registered("json.validate", {"data": {"age": 3}, "schema": schema}) == {
        "valid": True
    }
    with pytest.raises(ApplicationError) as caught:
        await run_registered("json.validate", {"data": {"age": "x"}, "schema": schema})
    assert caught.value.non_retryable and caught.value.type == "SchemaViolation"
    assert "data['age']" in str(caught.value)


async def test_hmac_sign_uses_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    import hmac

    monkeypatch.setenv("FERRYMAN_SECRET_HOOK", "k")
    signed = await run_registered(
        "hmac.sign", {"payload": {"b": 1, "a": 2}, "key": "${{secret:HOOK}}"}
    )
    expected = hmac.new(b"k", b'{"a":2,"b":1}', hashlib.sha256).hexdigest()
    assert signed["signature"] == expected


async def test_registry_rejects_invalid_input_and_publishes_schemas() -> None:
    with pytest.raises(ApplicationError) as caught:
        await run_registered("hmac.sign", {"payload": "x"})
    assert caught.value.non_retryable and caught.value.type == "InvalidActivityInput"
    entry = registered()["hmac.sign"]
    assert entry.input_schema is not None and "key" in entry.input_schema["properties"]
    assert entry.description.startswith("HMAC-sign")
