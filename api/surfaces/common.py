"""What every HTTP surface shares: the error responses its operations document, how a
refused cursor names the surface's parameter, and how a stream of events goes out as
Server-Sent Events."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sse_starlette import EventSourceResponse

from ferryman.api.codes import ErrorCode
from ferryman.api.envelope import ErrorBody
from ferryman.api.errors import ApiError

T = TypeVar("T")
# A comment line this often keeps a quiet stream open through proxies that drop idle ones.
SSE_PING_SECS = 15


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these HTTP statuses, each with the error envelope."""
    return {code: {"model": ErrorBody} for code in codes}


ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422)
# An SSE operation's responses: the errors, and a 200 that is an event stream.
SSE = {**ERRORS, 200: {"content": {"text/event-stream": {}}}}


@contextmanager
def cursor_named(parameter: str) -> Iterator[None]:
    """The domain refuses a cursor without knowing what the surface calls it (`cursor` on
    `/v1`, `after` on `/api/v1`): its sentence starts with that name here."""
    try:
        yield
    except ApiError as err:
        if err.code != ErrorCode.INVALID_CURSOR:
            raise
        raise ApiError(f"{parameter}: {err.message}", err.code, err.details) from err


def server_sent(
    items: AsyncIterable[T], event: Callable[[T], dict[str, str]]
) -> EventSourceResponse:
    """`items` as Server-Sent Events, each one `event(item)`: its `id`, `event` and `data`."""

    async def events() -> AsyncIterator[dict[str, str]]:
        async for item in items:
            yield event(item)

    return EventSourceResponse(events(), ping=SSE_PING_SECS)
