"""The Temporal dev server SIGKILLed and restarted on its SQLite file loses nothing."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio

from ferryman import search_attributes as sa
from ferryman.devserver import DevServer, headless_dev_server
from ferryman.settings import Settings
from ferryman.temporal import connect
from ferryman.workflows import controls as c
from ferryman.workflows import models as m
from ferryman.workflows.execution import ExecutionWorkflow
from tests.support.executions import ExecutionHandle, start_execution
from tests.support.polling import eventually
from tests.support.processes import spawn_worker


@pytest_asyncio.fixture
async def own_server(tmp_path: Path) -> AsyncIterator[DevServer]:
    async with headless_dev_server(tmp_path) as server:
        yield server


async def status(handle: ExecutionHandle) -> str | None:
    return (await handle.describe()).typed_search_attributes.get(sa.STATUS)


async def test_dev_server_killed_and_restarted_loses_nothing(
    own_server: DevServer, base_settings: Settings, tmp_path: Path
) -> None:
    settings = base_settings.model_copy(
        update={
            "temporal_address": own_server.address,
            "task_queue": f"fault-{uuid.uuid4().hex[:8]}",
            "data_dir": tmp_path,
        }
    )
    worker = spawn_worker(settings)
    try:
        client = await connect(settings)
        project = f"fault-{uuid.uuid4().hex[:6]}"

        async def start(*steps: dict[str, Any]) -> ExecutionHandle:
            document = {"name": "Fault", "steps": list(steps)}
            return await start_execution(client, settings, document, project_id=project)

        running = await start(
            {"id": "nap", "kind": "sleep", "with": {"seconds": 2}},
            {"id": "after", "kind": "transform", "depends_on": ["nap"], "with": {"value": 1}},
        )
        sleeper = await start({"id": "long", "kind": "sleep", "with": {"seconds": 6}})
        slept_from = time.monotonic()
        paused = await start({"id": "gate", "kind": "wait", "with": {"signal": "go"}})
        await eventually(lambda: status(paused), lambda s: s == "waiting")
        await paused.signal(ExecutionWorkflow.pause_signal, c.ControlRequest())
        await eventually(lambda: status(paused), lambda s: s == "paused")
        await eventually(lambda: status(running), lambda s: s == "waiting")

        own_server.kill()
        own_server.start(log_file=tmp_path / "temporal-restarted.log")
        await own_server.wait_ready()

        client = await connect(settings)
        running = client.get_workflow_handle(running.id, result_type=m.ExecutionResult)
        sleeper = client.get_workflow_handle(sleeper.id, result_type=m.ExecutionResult)
        paused = client.get_workflow_handle(paused.id)
        assert (await running.result()).status == "completed"
        assert (await sleeper.result()).status == "completed"
        assert time.monotonic() - slept_from >= 6  # woke on time, not early
        assert await status(paused) == "paused"
        listed = [e.id async for e in client.list_workflows(f"FerrymanProject = '{project}'")]
        assert sorted(listed) == sorted([running.id, sleeper.id, paused.id])
        await paused.terminate()
    finally:
        worker.kill()
        worker.wait(timeout=timedelta(seconds=10).total_seconds())
