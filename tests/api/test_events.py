"""Events from history, and the SSE stream over a real uvicorn server."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
import uvicorn

from ferryman.processes import free_port
from tests.support.api import Api
from tests.support.polling import eventually


@pytest_asyncio.fixture(scope="session")
async def served(api: Api) -> AsyncIterator[str]:
    """The session's app behind uvicorn on a free port (SSE needs a real server)."""
    port = free_port()
    config = uvicorn.Config(api.app, host="127.0.0.1", port=port, lifespan="off", log_config=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually(lambda: asyncio.sleep(0, server.started), bool)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def gated_execution(api: Api) -> str:
    workflow_id = f"ev-{uuid.uuid4().hex[:10]}"
    await api.create_workflow(
        {
            "id": workflow_id,
            "name": "Gated",
            "steps": [
                {"id": "first", "kind": "activity", "activity": "test.echo", "with": {"a": 1}},
                {"id": "gate", "kind": "wait", "depends_on": ["first"], "with": {"signal": "go"}},
                {"id": "last", "kind": "transform", "depends_on": ["gate"], "with": {"value": 2}},
            ],
            "output": "{{ steps.last.output }}",
        }
    )
    return await api.run(workflow_id)


async def read_stream(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], until: str | None = None
) -> list[dict[str, Any]]:
    """Collect SSE messages until the stream ends (or an event of type `until` arrives)."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    async with http.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith(("id:", "event:", "data:")):
                field, _, value = line.partition(":")
                current[field] = value.strip()
            elif not line and "data" in current:
                events.append({"id": int(current["id"]), **json.loads(current["data"])})
                current = {}
                if until and events[-1]["type"] == until:
                    break
    return events


async def test_events_translate_the_history(api: Api) -> None:
    execution_id = await gated_execution(api)
    await eventually(lambda: api.execution(execution_id), lambda e: e["status"] == "waiting")
    await api.http.post(
        f"/api/v1/executions/{execution_id}/signal", json={"name": "go"}, headers=api.admin
    )
    await eventually(lambda: api.execution(execution_id), lambda e: e["status"] == "completed")
    page = await api.http.get(f"/api/v1/executions/{execution_id}/events", headers=api.admin)
    assert page.status_code == 200
    events = page.json()["items"]
    types = [e["type"] for e in events]
    assert types[0] == "execution.started" and types[-1] == "execution.completed"
    for expected in ("step.started", "step.completed", "checkpoint.created", "signal.received"):
        assert expected in types
    assert [e["data"]["step_id"] for e in events if e["type"] == "step.completed"] == [
        "first",
        "gate",
        "last",
    ]
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    first = await api.http.get(
        f"/api/v1/executions/{execution_id}/events", params={"limit": 2}, headers=api.admin
    )
    rest = await api.http.get(
        f"/api/v1/executions/{execution_id}/events",
        params={"after": first.json()["next_cursor"]},
        headers=api.admin,
    )
    assert [e["id"] for e in first.json()["items"] + rest.json()["items"]] == ids
    assert rest.json()["next_cursor"] is None


async def test_stream_is_live_and_resumes_after_last_event_id(api: Api, served: str) -> None:
    execution_id = await gated_execution(api)
    url = f"{served}/api/v1/executions/{execution_id}/stream"
    async with httpx.AsyncClient(timeout=30) as http:
        # Live: the stream delivers events while the execution is still waiting.
        early = await read_stream(http, url, api.admin, until="checkpoint.created")
        assert (await api.execution(execution_id))["status"] != "completed"
        assert early[0]["type"] == "execution.started"
        await eventually(lambda: api.execution(execution_id), lambda e: e["status"] == "waiting")
        go = await http.post(
            f"{served}/api/v1/executions/{execution_id}/signal",
            json={"name": "go"},
            headers=api.admin,
        )
        assert go.status_code == 200
        # Reconnect after the last event seen: the rest arrives once, and the stream ends.
        rest = await read_stream(http, url, {**api.admin, "Last-Event-ID": str(early[-1]["id"])})
    assert rest[-1]["type"] == "execution.completed"
    assert all(event["id"] > early[-1]["id"] for event in rest)
    everything = (
        await api.http.get(
            f"/api/v1/executions/{execution_id}/events",
            params={"limit": 1000},
            headers=api.admin,
        )
    ).json()["items"]
    assert [e["id"] for e in early + rest] == [e["id"] for e in everything]


async def test_event_endpoints_refuse_strangers(api: Api) -> None:
    execution_id = await gated_execution(api)
    other = await api.key_for(project=f"other-{uuid.uuid4().hex[:6]}")
    for path in ("events", "stream"):
        url = f"/api/v1/executions/{execution_id}/{path}"
        assert (await api.http.get(url, headers=other)).status_code == 404
        assert (await api.http.get(url)).status_code == 401
        missing = f"/api/v1/executions/exec_01AAAAAAAAAAAAAAAAAAAAAAAA/{path}"
        assert (await api.http.get(missing, headers=api.admin)).status_code == 404
    bad = await api.http.get(
        f"/api/v1/executions/{execution_id}/events", params={"after": -1}, headers=api.admin
    )
    assert bad.status_code == 422
    await api.http.post(f"/api/v1/executions/{execution_id}/stop", headers=api.admin)
