"""The typed Python client of the ferryman API, sync (`Client`) and async (`AsyncClient`).

    with Client("http://127.0.0.1:8080", api_key="fm_...") as client:
        run = client.runs.trigger("hello", payload={"name": "Ada"})
        print(client.runs.get(run.id).status)

Endpoints are grouped by resource: `jobs`, `runs`, `dead_letters`, `schedules` (`/v1`),
`workflows`, `executions`, `keys` (`/api/v1`). Answers are the API's own wire models
(`ferryman.client.models`); lists are iterators over every page; streams resume after a
dropped connection with `Last-Event-ID`. Every failure is a `FerrymanError` carrying the
API's `code`. Calls are retried after a lost connection only when that is safe: reads,
and starts under an `Idempotency-Key`, which the client makes when none is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Generic, Self

from ferryman.client import models
from ferryman.client._discovery import ApiAddress, find_api
from ferryman.client._endpoints import TransportT
from ferryman.client._resources import (
    DeadLetters,
    Executions,
    Jobs,
    Keys,
    RunFilters,
    Runs,
    Schedules,
    Workflows,
)
from ferryman.client._transport import (
    AsyncClosing,
    AsyncStream,
    AsyncTransport,
    Closing,
    FerrymanError,
    Settings,
    Stream,
    SyncTransport,
)


class _Client(Generic[TransportT]):
    """What both clients are: the resources on one transport.

    `timeout` bounds each request; a call that lost its connection is sent again up to
    `max_retries` times when that is safe; a stream silent for `stream_timeout` seconds (the
    API pings every 15) reconnects.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        stream_timeout: float = 60.0,
    ) -> None:
        transport = self._connect(Settings(base_url, api_key, timeout, max_retries, stream_timeout))
        self._transport: TransportT = transport
        self.jobs: Jobs[TransportT] = Jobs(transport)
        self.runs: Runs[TransportT] = Runs(transport)
        self.dead_letters: DeadLetters[TransportT] = DeadLetters(transport)
        self.schedules: Schedules[TransportT] = Schedules(transport)
        self.workflows: Workflows[TransportT] = Workflows(transport)
        self.executions: Executions[TransportT] = Executions(transport)
        self.keys: Keys[TransportT] = Keys(transport)

    def _connect(self, settings: Settings) -> TransportT:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return self._transport.settings.base_url

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None) -> Self:
        """`FERRYMAN_API_URL` and `FERRYMAN_API_KEY`, else what `ferryman up` wrote in its
        data dir (`FERRYMAN_DATA_DIR`, default `.ferryman`)."""
        found = find_api(data_dir=data_dir)
        return cls(found.url, found.key)


class Client(_Client[SyncTransport], Closing):
    """The API over HTTP, blocking; close it, or use it as a context manager."""

    def _connect(self, settings: Settings) -> SyncTransport:
        return SyncTransport(settings)

    def close(self) -> None:
        self._transport.close()


class AsyncClient(_Client[AsyncTransport], AsyncClosing):
    """`Client` for asyncio: every call is awaited, lists and streams are `async for`."""

    def _connect(self, settings: Settings) -> AsyncTransport:
        return AsyncTransport(settings)

    async def aclose(self) -> None:
        await self._transport.aclose()


__all__ = [
    "ApiAddress",
    "AsyncClient",
    "AsyncStream",
    "Client",
    "FerrymanError",
    "RunFilters",
    "Stream",
    "find_api",
    "models",
]
