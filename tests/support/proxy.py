"""A TCP proxy on 127.0.0.1 whose connections a test can cut, as a network would: the
client sees its connection drop mid-stream (`cut`), or lose the answer to a request the
server did receive (`lose_answers`), and its next connection goes through."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit


class Proxy:
    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.connections = 0  # accepted so far
        self.answers_to_lose = 0
        self._open: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    def cut(self) -> int:
        """Drop every open connection at once (a reset, no orderly close); how many."""
        cut = len(self._open)
        for writer in list(self._open):
            writer.transport.abort()
        return cut

    def lose_answers(self, count: int = 1) -> None:
        """The next `count` connections deliver their request and reset before any answer
        (the open ones are cut first, so the next request opens one)."""
        self.cut()
        self.answers_to_lose = count

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        lose = self.answers_to_lose > 0
        self.answers_to_lose -= lose
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self._open.update((writer, up_writer))
        try:
            answer = _lost(up_reader, writer) if lose else _pipe(up_reader, writer)
            await asyncio.gather(_pipe(reader, up_writer), answer)
        finally:
            for end in (writer, up_writer):
                self._open.discard(end)
                end.transport.abort()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    sink.transport.abort()  # one side gone: so is the other


async def _lost(source: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
    """The server answered: the client gets a reset instead."""
    with contextlib.suppress(ConnectionError, OSError):
        await source.read(1)
    client.transport.abort()


@contextlib.asynccontextmanager
async def proxy_to(url: str) -> AsyncIterator[Proxy]:
    proxy = Proxy(url)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
