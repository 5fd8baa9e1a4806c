"""The `http` step kind: one HTTP request per attempt, classified for the workflow's retries.

5xx, 408, 429, timeouts and connection errors are retryable; any other 4xx is not. Every
request carries `Idempotency-Key: <execution id>:<step id>`, stable across attempts, so a
service that honours it sees a retried step once.

Egress control (`FERRYMAN_HTTP_BLOCK_PRIVATE_NETWORKS`): with it on, a request whose host
resolves to an address that is not globally routable (loopback, private, link-local, which
holds the cloud metadata services, shared or reserved) is refused before it is sent, and so
is every redirect that leads to one. The check resolves the name itself; a DNS answer that
changes between the check and the connection (rebinding) is outside what it can see.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import time
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from temporalio import activity
from temporalio.exceptions import ApplicationError

from ferryman.activities.registry import StepTask
from ferryman.activities.secrets import resolve_secrets
from ferryman.validation import error_sentence

HTTP_ACTIVITY_NAME = "ferryman.http"
MAX_RESPONSE_BYTES = 256 * 1024
MAX_REDIRECTS = 10
RETRYABLE_STATUSES = frozenset({408, 429})
EGRESS_SETTING = "FERRYMAN_HTTP_BLOCK_PRIVATE_NETWORKS"

_block_private_networks = False


def configure(block_private_networks: bool) -> None:
    """Set by the worker from its settings before it runs any step."""
    global _block_private_networks
    _block_private_networks = block_private_networks


class HttpParams(BaseModel):
    """The `with` block of an `http` step."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str | int | float | bool] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    body: str | None = None
    timeout_secs: float = Field(default=30.0, gt=0, le=600)

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _http_only(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https:// (got {url[:60]!r})")
        return url

    @model_validator(mode="after")
    def _one_body(self) -> HttpParams:
        if self.json_body is not None and self.body is not None:
            raise ValueError("give either `json` or `body`, not both")
        return self


class PooledClient:
    """One httpx client (a connection pool) per worker process, opened on first use and
    again after `close`. Redirects are not followed by httpx: the caller follows them, so
    that each hop passes the egress check."""

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None

    def __call__(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(follow_redirects=False)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


_http_client = PooledClient()
close_http_client = _http_client.close


def _parse(task: StepTask) -> HttpParams:
    try:
        return HttpParams.model_validate(resolve_secrets(task.params))
    except ValidationError as err:
        raise ApplicationError(
            f"invalid http step: {error_sentence(err)}",
            type="InvalidHttpParams",
            non_retryable=True,
        ) from err


@activity.defn(name=HTTP_ACTIVITY_NAME)
async def http_request(task: StepTask) -> dict[str, Any]:
    """Send the request; returns `{status, headers, json | text, elapsed_ms, timing}`."""
    params = _parse(task)
    headers = {"Idempotency-Key": task.idempotency_key, **params.headers}
    # `query` is merged into the URL's own query string (httpx's `params=` would replace
    # it); without one the URL is sent exactly as written (a signed URL must not change).
    url = httpx.URL(params.url)
    if params.query:
        url = url.copy_merge_params(params.query)
    request = _http_client().build_request(
        params.method,
        url,
        headers=headers,
        json=params.json_body,
        content=params.body,
        timeout=params.timeout_secs,
    )
    target = f"{params.method} {params.url}"
    connecting = _ConnectClock()
    request.extensions["trace"] = connecting.trace
    started = time.perf_counter()
    try:
        response = await _send(request)
        headers_at = time.perf_counter()
        try:
            content = await _read_capped(response)
        finally:
            await response.aclose()
    except httpx.TimeoutException as err:
        raise _retryable(f"{target} timed out after {params.timeout_secs}s") from err
    except httpx.TransportError as err:
        raise _retryable(f"{target} failed: {type(err).__name__}: {err}") from err
    finished = time.perf_counter()
    output = _output(response, content, started, headers_at, finished, connecting.total_ms)
    _raise_for_status(params, response, content)
    return output


async def _send(request: httpx.Request) -> httpx.Response:
    """Send, following redirects; every address passes the egress check first."""
    client = _http_client()
    for _ in range(MAX_REDIRECTS + 1):
        await _check_egress(request)
        response = await client.send(request, stream=True)
        if not response.is_redirect or response.next_request is None:
            return response
        await response.aclose()
        request = response.next_request
    raise ApplicationError(
        f"{request.method} {request.url} redirected more than {MAX_REDIRECTS} times",
        type="HttpTooManyRedirects",
        non_retryable=True,
    )


async def check_egress(request: httpx.Request) -> None:
    """The egress check of `http` steps, for other activities that send to a URL a
    definition chose (an `llm` step's own `base_url`)."""
    await _check_egress(request)


async def _check_egress(request: httpx.Request) -> None:
    if not _block_private_networks:
        return
    host = request.url.host
    port = request.url.port or (443 if request.url.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as err:
        raise _retryable(f"{request.method} {request.url} failed: cannot resolve {host}") from err
    for *_, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0])
        mapped = getattr(address, "ipv4_mapped", None)
        if not (mapped or address).is_global:
            raise ApplicationError(
                f"{request.method} {request.url} is refused: {host} resolves to {address}, "
                f"which is not a public address, and {EGRESS_SETTING} is on",
                type="EgressRefused",
                non_retryable=True,
            )


async def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            break
    return b"".join(chunks)


class _ConnectClock:
    """Time spent opening connections (TCP and TLS), from httpcore's trace events: 0 when a
    pooled connection is reused. Redirect hops add up."""

    def __init__(self) -> None:
        self.total_ms = 0.0
        self._since: float | None = None

    async def trace(self, event: str, info: dict[str, Any]) -> None:
        done = ("connection.connect_tcp.complete", "connection.start_tls.complete")
        if event == "connection.connect_tcp.started":
            self._since = time.perf_counter()
        elif event in done and self._since is not None:
            now = time.perf_counter()
            self.total_ms += (now - self._since) * 1000
            self._since = now if event.endswith("connect_tcp.complete") else None


def _output(
    response: httpx.Response,
    content: bytes,
    started: float,
    headers_at: float,
    finished: float,
    connect_ms: float,
) -> dict[str, Any]:
    output: dict[str, Any] = {
        "status": response.status_code,
        "headers": {key.lower(): value for key, value in response.headers.items()},
        "elapsed_ms": round((finished - started) * 1000, 3),
        # ttfb counts from sending the request, connecting included.
        "timing": {
            "connect_ms": round(connect_ms, 3),
            "ttfb_ms": round((headers_at - started) * 1000, 3),
            "transfer_ms": round((finished - headers_at) * 1000, 3),
        },
    }
    truncated = len(content) > MAX_RESPONSE_BYTES
    body = content[:MAX_RESPONSE_BYTES]
    if truncated:
        output["truncated"] = True
    if not truncated and "json" in response.headers.get("content-type", ""):
        try:
            output["json"] = json.loads(body)
            return output
        except ValueError:
            pass
    output["text"] = body.decode(response.encoding or "utf-8", errors="replace")
    return output


def _raise_for_status(params: HttpParams, response: httpx.Response, content: bytes) -> None:
    status = response.status_code
    if status < 400:
        return
    message = f"{params.method} {params.url} answered {status} {response.reason_phrase}"
    details = {"status": status, "body": content[:500].decode("utf-8", errors="replace")}
    if status >= 500 or status in RETRYABLE_STATUSES:
        raise ApplicationError(message, details, type="HttpRetryableError")
    raise ApplicationError(message, details, type="HttpClientError", non_retryable=True)


def _retryable(message: str) -> ApplicationError:
    return ApplicationError(message, type="HttpRetryableError")
