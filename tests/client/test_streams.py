"""Streams resumed after a dropped connection: the API is reached through a proxy that cuts
every open connection mid-stream; the iterator reconnects with `Last-Event-ID` and goes on
from the next event, none lost and none twice (sync and async; events and live tokens)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import TypeVar

from ferryman.client import AsyncClient, Client
from ferryman.client.models import Chunk, RunEvent
from tests.support.api_process import ApiProcess
from tests.support.definitions import approval_job, job_id, llm_job
from tests.support.llm_server import LlmServer, Reply
from tests.support.polling import eventually
from tests.support.proxy import proxy_to

T = TypeVar("T")


def until_waiting(events: Iterator[RunEvent]) -> list[RunEvent]:
    """Events up to the one that says the run waits for `approve`."""
    seen = []
    for event in events:
        seen.append(event)
        if event.type == "step.started" and event.data.get("signal") == "approve":
            return seen
    raise AssertionError(f"the stream ended first: {[e.type for e in seen]}")


async def test_a_sync_event_stream_resumes_after_its_connection_drops(
    module_api_process: ApiProcess,
) -> None:
    api = module_api_process
    job = job_id("resume")
    with Client(api.url, api_key=api.key) as direct:
        await asyncio.to_thread(direct.jobs.create, approval_job(job))
        run = await asyncio.to_thread(direct.runs.trigger, job, {"name": "Ada"})
        async with proxy_to(api.url) as proxy:
            with Client(proxy.url, api_key=api.key) as client:
                stream = client.runs.stream(run.id)
                before = await asyncio.to_thread(until_waiting, stream)
                assert proxy.cut() > 0  # the stream's connection, idle while the run waits
                await asyncio.to_thread(direct.runs.signal, run.id, "approve", {"by": "me"})
                after = await asyncio.to_thread(list, stream)
            assert proxy.connections >= 2  # it reconnected
        whole = await asyncio.to_thread(list, direct.runs.events(run.id))
    assert after and after[-1].type == "execution.completed"
    assert [e.id for e in before + after] == [e.id for e in whole]
    assert stream.last_event_id == whole[-1].id


async def test_an_async_event_stream_resumes_after_its_connection_drops(
    module_api_process: ApiProcess,
) -> None:
    api = module_api_process
    job = job_id("resume")
    async with AsyncClient(api.url, api_key=api.key) as direct:
        await direct.jobs.create(approval_job(job))
        run = await direct.runs.trigger(job, {"name": "Ada"})
        seen: list[RunEvent] = []
        async with proxy_to(api.url) as proxy, AsyncClient(proxy.url, api_key=api.key) as client:
            async for event in client.runs.stream(run.id):
                seen.append(event)
                if event.type == "step.started" and event.data.get("signal") == "approve":
                    assert proxy.cut() > 0
                    await direct.runs.signal(run.id, "approve", {"by": "me"})
            assert proxy.connections >= 2
        whole = [event async for event in direct.runs.events(run.id)]
    assert seen[-1].type == "execution.completed"
    assert [e.id for e in seen] == [e.id for e in whole]


async def test_live_tokens_resume_after_their_connection_drops(
    module_api_process: ApiProcess, llm_server: LlmServer
) -> None:
    api = module_api_process
    release = threading.Event()
    text = "The quick brown fox jumps over the lazy dog and keeps on running"
    model = llm_server.script([Reply(content=text, hold=release, hold_after=3, delay=0.05)])
    job = job_id("tokens")
    async with AsyncClient(api.url, api_key=api.key) as direct:
        await direct.jobs.create(llm_job(job, model))
        run = await direct.runs.trigger(job)
        chunks: list[Chunk] = []
        async with proxy_to(api.url) as proxy, AsyncClient(proxy.url, api_key=api.key) as client:
            stream = client.runs.chunks(run.id)

            async def read() -> None:
                async for chunk in stream:
                    chunks.append(chunk)

            reader = asyncio.create_task(read())
            try:
                # The provider holds the rest of its answer: the stream is mid-step.
                await eventually(lambda: asyncio.sleep(0, chunks), lambda seen: len(seen) > 0)
                assert proxy.cut() > 0
            finally:
                release.set()
            await asyncio.wait_for(reader, timeout=60)  # the stream ends with the run
            assert proxy.connections >= 2
        done = await direct.runs.get(run.id)
    assert done.status == "completed" and done.result == text
    assert "".join(chunk.text for chunk in chunks) == text  # nothing lost, nothing twice
    assert stream.last_event_id == str(len(chunks) - 1)  # offsets count from 0


async def test_an_event_stream_outlives_a_restart_of_the_api(api_process: ApiProcess) -> None:
    """The API process is SIGKILLed while the stream waits, then started again: the stream
    reconnects (refused connections in between) and goes on where it was."""
    async with AsyncClient(api_process.url, api_key=api_process.key) as client:
        await client.jobs.create(approval_job(job := job_id("restart")))
        run = await client.runs.trigger(job, {"name": "Ada"})

        async def revive() -> None:
            await api_process.start()
            await client.runs.signal(run.id, "approve", {"by": "me"})

        seen: list[RunEvent] = []
        revival: asyncio.Task[None] | None = None
        async for event in client.runs.stream(run.id):
            seen.append(event)
            if event.type == "step.started" and event.data.get("signal") == "approve":
                api_process.kill()
                revival = asyncio.create_task(revive())  # while the stream reconnects
        assert revival is not None
        await revival
        whole = [event async for event in client.runs.events(run.id)]
    assert seen[-1].type == "execution.completed"
    assert [e.id for e in seen] == [e.id for e in whole]
