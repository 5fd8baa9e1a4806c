"""What every HTTP surface shares: the error responses its operations document, and how a
stream of events goes out as Server-Sent Events."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any, TypeVar

from sse_starlette import EventSourceResponse

from ferryman.api.envelope import ErrorBody

T = TypeVar("T")
# A comment line this often keeps a quiet stream open through proxies that drop idle ones.
SSE_PING_SECS = 15


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these HTTP statuses, each with the error envelope."""
    return {code: {"model": ErrorBody} for code in codes}


ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422)
# An SSE operation's responses: the errors, and a 200 that is an event stream.
SSE = {**ERRORS, 200: {"content": {"text/event-stream": {}}}}


def server_sent(
    items: AsyncIterable[T], event: Callable[[T], dict[str, str]]
) -> EventSourceResponse:
    """`items` as Server-Sent Events, each one `event(item)`: its `id`, `event` and `data`."""

    async def events() -> AsyncIterator[dict[str, str]]:
        async for item in items:
            yield event(item)

    return EventSourceResponse(events(), ping=SSE_PING_SECS)
