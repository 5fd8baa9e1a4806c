"""What the sync and the async client share, written once: a call's description (`Call`,
`Streamed`), its answer (`model`, `Page`), the error an answer raises (`FerrymanError`), when
to send a call again (`Attempts`) and how a stream resumes (`Position`). The two transports
below do only the I/O with httpx: a blocking loop and an awaiting one, the one part that
cannot be written once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, Generic, Self, TypeVar, cast, get_args, get_origin
from urllib.parse import quote

import httpx
from httpx_sse import ServerSentEvent, aconnect_sse, connect_sse
from pydantic import TypeAdapter, ValidationError

T = TypeVar("T")

API_KEY_HEADER = "X-API-Key"
IDEMPOTENCY_HEADER = "Idempotency-Key"
LAST_EVENT_ID = "Last-Event-ID"
SAFE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
# Failures before the request left: sending it again cannot do anything twice.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# The API (or a proxy in front of it) says "try again shortly" (Temporal unavailable...).
BUSY_STATUSES = frozenset({502, 503, 504})
BACKOFF_FIRST_SECS = 0.25
BACKOFF_MAX_SECS = 4.0


class FerrymanError(Exception):
    """Every failure of a call, as the API put it.

    `code` is the API's stable error code (`ferryman.api.codes.ErrorCode`, e.g.
    `execution_not_found`), `status` the HTTP status. Two codes come from the client itself,
    with no status: `unreachable` (no answer, after the retries a call is allowed) and
    `unexpected_answer` (an answer that is not the API's: a proxy's page, a body that does
    not read as the documented model).
    """

    def __init__(
        self,
        message: str,
        code: str,
        status: int | None = None,
        request_id: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.request_id = request_id
        self.details = details or []

    def __str__(self) -> str:
        return f"{self.message} ({self.code})"


def segment(value: str) -> str:
    """An id as one path segment, whatever it holds."""
    return quote(value, safe="")


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def decode(kind: type[T], data: bytes | str, what: str) -> T:
    """JSON read as `kind` (a wire model, or a list of them)."""
    try:
        return _adapter(cast(Any, kind)).validate_json(data)  # type: ignore[no-any-return]
    except ValidationError as err:
        raise FerrymanError(
            f"{what} does not read as {_named(kind)}: {err.errors()[0]['msg']}",
            "unexpected_answer",
        ) from err


def _named(kind: Any) -> str:
    if get_origin(kind) is list:
        return f"a list of {_named(get_args(kind)[0])}"
    return str(getattr(kind, "__name__", kind))


def model(kind: type[T]) -> Callable[[httpx.Response], T]:
    """An answer read as `kind`."""

    def read(response: httpx.Response) -> T:
        what = f"the answer to {response.request.method} {response.request.url.path}"
        return decode(kind, response.content, what)

    return read


def event_data(kind: type[T]) -> Callable[[ServerSentEvent], T]:
    """A Server-Sent Event's data read as `kind`."""

    def read(event: ServerSentEvent) -> T:
        return decode(kind, event.data, f"a {event.event!r} event")

    return read


def error_of(response: httpx.Response) -> FerrymanError:
    """The API's error envelope (`{error, code, request_id, details}`) as an exception."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return FerrymanError(
            body["error"],
            str(body.get("code") or "error"),
            response.status_code,
            body.get("request_id"),
            body.get("details"),
        )
    text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
    return FerrymanError(
        f"HTTP {response.status_code} from {response.request.url}: "
        f"{text or response.reason_phrase}",
        "unexpected_answer",
        response.status_code,
    )


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and how its answer becomes a `T`; built by a resource method, sent by a
    transport."""

    method: str
    path: str
    answer: Callable[[httpx.Response], T]
    params: Mapping[str, Any] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    keyed: bool = False  # every item of its body carries an idempotency key

    @property
    def repeatable(self) -> bool:
        """Whether sending it twice does what sending it once does: an idempotent method, a
        POST under an `Idempotency-Key`, or one whose every item has its key."""
        return self.method in SAFE_METHODS or IDEMPOTENCY_HEADER in self.headers or self.keyed

    def request(self) -> dict[str, Any]:
        """httpx's arguments for it (None-valued parameters are left out)."""
        params = {name: value for name, value in self.params.items() if value is not None}
        return {
            "method": self.method,
            "url": self.path,
            "params": params,
            "json": self.json,
            "content": self.content,
            "headers": dict(self.headers),
        }


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, and the parameters that ask for the next one (None: the last)."""

    items: list[T]
    following: dict[str, Any] | None


def next_page(call: Call[Page[T]], page: Page[T]) -> Call[Page[T]] | None:
    if page.following is None:
        return None
    return replace(call, params={**call.params, **page.following})


# A resource method of several calls: it yields each call, gets its answer (or its
# FerrymanError thrown in) and returns the result.
Flow = Generator[Call[Any], Any, T]


@dataclass(frozen=True)
class Streamed(Generic[T]):
    """A Server-Sent Events stream and how each event's data becomes a `T`."""

    path: str
    item: Callable[[ServerSentEvent], T]
    params: Mapping[str, Any] = field(default_factory=dict)
    last_event_id: str | None = None
    final: Callable[[T], bool] = lambda item: False  # the item after which nothing comes


@dataclass(frozen=True)
class Settings:
    """How a client talks to the API."""

    base_url: str
    api_key: str | None = None
    timeout: float = 30.0
    max_retries: int = 3
    # The API sends a keep-alive comment every 15 s: a stream silent for this long has lost
    # its connection, and resumes.
    stream_timeout: float = 60.0
    reconnect_secs: float = 60.0  # how long a stream tries to get its connection back

    def http_options(self) -> dict[str, Any]:
        headers = {"User-Agent": "ferryman-client"}
        if self.api_key:
            headers[API_KEY_HEADER] = self.api_key
        return {"base_url": self.base_url, "headers": headers, "timeout": self.timeout}

    def stream_timeouts(self) -> httpx.Timeout:
        return httpx.Timeout(self.timeout, read=self.stream_timeout)

    def backoff(self, failures: int) -> float:
        return float(min(BACKOFF_MAX_SECS, BACKOFF_FIRST_SECS * 2 ** (failures - 1)))

    def unreachable(self, err: httpx.TransportError) -> FerrymanError:
        return FerrymanError(
            f"cannot reach the ferryman API at {self.base_url}: {err or type(err).__name__}",
            "unreachable",
        )


@dataclass
class Attempts:
    """The attempts of one call: after a failure or a busy answer, how long to wait before
    the next, or the error that ends it. A call that may already have reached the API is
    sent again only if it is `repeatable`."""

    settings: Settings
    call: Call[Any]
    failures: int = 0

    def failed(self, err: httpx.TransportError) -> float:
        self.failures += 1
        safe = isinstance(err, NOT_SENT) or self.call.repeatable
        if not safe or self.failures > self.settings.max_retries:
            raise self.settings.unreachable(err) from err
        return self.settings.backoff(self.failures)

    def answered(self, response: httpx.Response) -> float | None:
        """None: take this answer; else the wait before sending again."""
        if response.status_code not in BUSY_STATUSES or not self.call.repeatable:
            return None
        self.failures += 1
        if self.failures > self.settings.max_retries:
            return None
        return self.settings.backoff(self.failures)

    def result(self, response: httpx.Response) -> Any:
        if response.is_error:
            raise error_of(response)
        return self.call.answer(response)


class Position(Generic[T]):
    """Where a stream is: the last event id seen, sent back as `Last-Event-ID` when it
    reconnects, so a dropped connection resumes with the next event, none twice.

    The API ends a stream when the run closes, but a connection can also end cleanly for
    other reasons (the API restarting): unless its last item says the run closed
    (`Streamed.final`), the stream reconnects once more, and ends when a connection ends
    with nothing new. A dropped connection is retried for `reconnect_secs`.
    """

    def __init__(self, settings: Settings, streamed: Streamed[T]) -> None:
        self.settings = settings
        self.streamed = streamed
        self.last_event_id = streamed.last_event_id
        self.failing_since: float | None = None
        self.failures = 0  # in a row, since the last event
        self.progressed = False  # on this connection
        self.finished = False  # the last item says the run closed

    def request(self) -> dict[str, Any]:
        self.progressed = False
        headers = {LAST_EVENT_ID: self.last_event_id} if self.last_event_id else {}
        return {
            "method": "GET",
            "url": self.streamed.path,
            "params": {k: v for k, v in self.streamed.params.items() if v is not None},
            "headers": headers,
            "timeout": self.settings.stream_timeouts(),
        }

    def take(self, event: ServerSentEvent) -> tuple[T] | None:
        """The event's item, or None for what is not an event: per the SSE spec an event
        with no data is not dispatched (httpx-sse hands over the API's keep-alive comments
        as such events once an id was seen)."""
        if not event.data:
            return None
        item = self.streamed.item(event)
        if event.id:
            self.last_event_id = event.id
        self.failing_since, self.failures, self.progressed = None, 0, True
        self.finished = self.streamed.final(item)
        return (item,)

    def ended(self) -> bool:
        """A connection ended cleanly: whether the stream is over."""
        return self.finished or not self.progressed

    def dropped(self, err: httpx.TransportError) -> float:
        now = time.monotonic()
        self.failing_since = self.failing_since or now
        self.failures += 1
        if now - self.failing_since > self.settings.reconnect_secs:
            raise self.settings.unreachable(err) from err
        return self.settings.backoff(self.failures)


class SyncTransport:
    """Sends calls with a blocking `httpx.Client`."""

    def __init__(self, settings: Settings, http: httpx.Client | None = None) -> None:
        self.settings = settings
        self.http = http or httpx.Client(**settings.http_options())

    def send(self, call: Call[T]) -> T:
        attempts = Attempts(self.settings, call)
        while True:
            try:
                response = self.http.request(**call.request())
            except httpx.TransportError as err:
                time.sleep(attempts.failed(err))
                continue
            wait = attempts.answered(response)
            if wait is None:
                return attempts.result(response)  # type: ignore[no-any-return]
            time.sleep(wait)

    def drive(self, flow: Call[T] | Flow[T]) -> T:
        """A call's answer, or a flow's result: each of its calls sent in turn."""
        if isinstance(flow, Call):
            return self.send(flow)
        try:
            call = next(flow)
            while True:
                try:
                    answer = self.send(call)
                except FerrymanError as err:
                    call = flow.throw(err)
                else:
                    call = flow.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def pages(self, call: Call[Page[T]]) -> Iterator[T]:
        following: Call[Page[T]] | None = call
        while following is not None:
            page = self.send(following)
            yield from page.items
            following = next_page(following, page)

    def stream(self, streamed: Streamed[T]) -> Stream[T]:
        return Stream(self, Position(self.settings, streamed))

    def follow(self, position: Position[T]) -> Generator[T, None, None]:
        while True:
            try:
                with connect_sse(self.http, **position.request()) as source:
                    if source.response.is_error:
                        source.response.read()
                        raise error_of(source.response)
                    for event in source.iter_sse():
                        taken = position.take(event)
                        if taken is not None:
                            yield taken[0]
                if position.ended():
                    return
            except httpx.TransportError as err:
                time.sleep(position.dropped(err))

    def close(self) -> None:
        self.http.close()


class AsyncTransport:
    """Sends calls with an `httpx.AsyncClient`."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.http = http or httpx.AsyncClient(**settings.http_options())

    async def send(self, call: Call[T]) -> T:
        attempts = Attempts(self.settings, call)
        while True:
            try:
                response = await self.http.request(**call.request())
            except httpx.TransportError as err:
                await asyncio.sleep(attempts.failed(err))
                continue
            wait = attempts.answered(response)
            if wait is None:
                return attempts.result(response)  # type: ignore[no-any-return]
            await asyncio.sleep(wait)

    async def drive(self, flow: Call[T] | Flow[T]) -> T:
        if isinstance(flow, Call):
            return await self.send(flow)
        try:
            call = next(flow)
            while True:
                try:
                    answer = await self.send(call)
                except FerrymanError as err:
                    call = flow.throw(err)
                else:
                    call = flow.send(answer)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def pages(self, call: Call[Page[T]]) -> AsyncIterator[T]:
        following: Call[Page[T]] | None = call
        while following is not None:
            page = await self.send(following)
            for item in page.items:
                yield item
            following = next_page(following, page)

    def stream(self, streamed: Streamed[T]) -> AsyncStream[T]:
        return AsyncStream(self, Position(self.settings, streamed))

    async def follow(self, position: Position[T]) -> AsyncGenerator[T, None]:
        while True:
            try:
                async with aconnect_sse(self.http, **position.request()) as source:
                    if source.response.is_error:
                        await source.response.aread()
                        raise error_of(source.response)
                    async for event in source.aiter_sse():
                        taken = position.take(event)
                        if taken is not None:
                            yield taken[0]
                if position.ended():
                    return
            except httpx.TransportError as err:
                await asyncio.sleep(position.dropped(err))

    async def aclose(self) -> None:
        await self.http.aclose()


class Closing:
    """Closes what it holds when its `with` block ends."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncClosing:
    """Closes what it holds when its `async with` block ends."""

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _Resumable(Generic[T]):
    def __init__(self, position: Position[T]) -> None:
        self._position = position

    @property
    def last_event_id(self) -> str | None:
        """The id of the last event taken: `last_event_id=` of a later stream resumes here."""
        return self._position.last_event_id


class Stream(_Resumable[T], Closing):
    """A live stream of items (a run's events, an `llm` step's chunks) that resumes after a
    dropped connection. Ends when the run closes; `close()` (or leaving its `with` block)
    ends it sooner."""

    def __init__(self, transport: SyncTransport, position: Position[T]) -> None:
        super().__init__(position)
        self._items = transport.follow(position)

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> T:
        return next(self._items)

    def close(self) -> None:
        self._items.close()


class AsyncStream(_Resumable[T], AsyncClosing):
    """`Stream` for `async for`."""

    def __init__(self, transport: AsyncTransport, position: Position[T]) -> None:
        super().__init__(position)
        self._items = transport.follow(position)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        return await anext(self._items)

    async def aclose(self) -> None:
        await self._items.aclose()
