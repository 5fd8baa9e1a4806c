"""The whole `ferryman up` SIGKILLed while an `http` step is in flight, with default settings:
started again, the execution completes within a minute, each step checkpointed once."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from tests.support import http_target as target
from tests.support.polling import eventually
from tests.support.up import Up, alive

HEALED_WITHIN_SECS = 60.0


async def test_the_whole_stack_killed_mid_step_heals_in_seconds(up: Up, http_target: str) -> None:
    token = uuid.uuid4().hex
    slow_path = f"/once-slow/{token}"
    up.start()
    await up.wait_ready()
    headers = {"X-API-Key": (up.data_dir / "dev-api-key").read_text().strip()}
    definition = {
        "id": "crash-mid-step",
        "name": "Crash mid step",
        # Default retries, timeouts and heartbeats: what a user gets without asking.
        "steps": [
            {"id": "call", "kind": "http", "with": {"url": f"{http_target}{slow_path}?secs=40"}},
            {
                "id": "after",
                "kind": "transform",
                "depends_on": ["call"],
                "with": {"value": "{{ steps.call.output.json.calls }}"},
            },
        ],
        "output": "{{ steps.after.output }}",
    }
    async with httpx.AsyncClient(base_url=up.url, timeout=10) as http:
        created = await http.post("/api/v1/workflows", json=definition, headers=headers)
        assert created.status_code == 201, created.text
        started = await http.post(
            "/api/v1/executions", json={"workflow_id": "crash-mid-step"}, headers=headers
        )
        execution_id = started.json()["id"]

    async def hits() -> int:
        return target.HITS[slow_path]

    await eventually(hits, lambda n: n == 1, timeout=30)  # the step is in flight
    up.pids()
    up.kill_all()  # SIGKILL: up, the dev server, the worker and the API at once

    async def survivors() -> list[int]:
        return [pid for pid in up.seen if alive(pid)]

    await eventually(survivors, lambda left: left == [], timeout=10)

    up.start()
    await up.wait_ready()
    restarted = time.monotonic()
    async with httpx.AsyncClient(base_url=up.url, timeout=10) as http:

        async def execution() -> dict[str, Any]:
            response = await http.get(f"/api/v1/executions/{execution_id}", headers=headers)
            return dict(response.json())

        done = await eventually(
            execution, lambda e: e["status"] == "completed", timeout=HEALED_WITHIN_SECS
        )
    assert time.monotonic() - restarted < HEALED_WITHIN_SECS
    assert done["output"] == 2  # the lost attempt, then the one that answered
    assert [c["name"] for c in done["checkpoints"]] == ["start", "call", "after"]
    assert up.stop() == 0
