"""Live tokens: a streamed `llm` step's deltas reach `GET /v1/runs/{id}/stream/chunks` while
the step still runs, with the API and the worker in separate processes (the API is its own
`ferryman api` process here, the worker is the session's), and resume with Last-Event-ID."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from typing import Any

import httpx

from tests.support.api_process import ApiProcess
from tests.support.llm_server import LlmServer, Reply
from tests.support.polling import eventually


async def read_chunks(
    http: httpx.AsyncClient, run_id: str, into: list[tuple[str, dict[str, Any]]], **headers: str
) -> None:
    """Collect (id, chunk) from the SSE stream until it ends."""
    async with http.stream("GET", f"/v1/runs/{run_id}/stream/chunks", headers=headers) as sse:
        assert sse.status_code == 200
        event_id = ""
        async for line in sse.aiter_lines():
            if line.startswith("id:"):
                event_id = line.removeprefix("id:").strip()
            elif line.startswith("data:"):
                into.append((event_id, json.loads(line.removeprefix("data:"))))


async def test_tokens_arrive_before_the_step_ends_and_resume_after_the_last_seen(
    api_process: ApiProcess, llm_server: LlmServer
) -> None:
    release = threading.Event()
    text = "The quick brown fox jumps over the lazy dog"
    model = llm_server.script([Reply(content=text, hold=release, hold_after=3, delay=0.05)])
    job = f"stream-{uuid.uuid4().hex[:8]}"
    step = {
        "id": "answer",
        "kind": "llm",
        "with": {"model": model, "stream": True, "messages": [{"role": "user", "content": "go"}]},
    }
    headers = api_process.headers
    async with httpx.AsyncClient(base_url=api_process.url, headers=headers, timeout=60) as http:
        created = await http.post(
            "/api/v1/workflows",
            json={
                "id": job,
                "name": "Stream",
                "steps": [step],
                "output": "{{ steps.answer.output }}",
            },
        )
        assert created.status_code == 201, created.text
        triggered = await http.post(f"/v1/jobs/{job}/trigger", json={"payload": {}})
        assert triggered.status_code == 201, triggered.text
        run_id = triggered.json()["id"]

        chunks: list[tuple[str, dict[str, Any]]] = []
        reader = asyncio.create_task(read_chunks(http, run_id, chunks, **headers))
        try:
            # The provider holds the rest of its answer: what arrived came while the step ran.
            await eventually(lambda: asyncio.sleep(0, chunks), lambda seen: len(seen) > 0)
            running = (await http.get(f"/v1/runs/{run_id}")).json()
            assert running["finished_at"] is None and running["status"] == "executing"
            assert text.startswith("".join(chunk["text"] for _, chunk in chunks))
        finally:
            release.set()
        await asyncio.wait_for(reader, timeout=30)  # the stream ends with the run

        run = (await http.get(f"/v1/runs/{run_id}")).json()
        assert run["status"] == "completed" and run["result"] == text
        assert "".join(chunk["text"] for _, chunk in chunks) == text
        assert {(c["step_id"], c["call"], c["attempt"]) for _, c in chunks} == {("answer", 1, 1)}
        assert len(chunks) < len(text.split())  # batches of deltas, not one per token

        # Resume after the first chunk: the rest, from the closed run.
        first_id = chunks[0][0]
        rest: list[tuple[str, dict[str, Any]]] = []
        await read_chunks(http, run_id, rest, **headers, **{"Last-Event-ID": first_id})
        assert [c for _, c in rest] == [c for _, c in chunks[1:]]

        missing = await http.get("/v1/runs/exec_00000000000000000000000000/stream/chunks")
        assert missing.status_code == 404
