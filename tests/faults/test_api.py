"""The API process killed in the middle of creates: clients that retry with their
Idempotency-Key get exactly one execution each, whatever step the kill interrupted."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ferryman.settings import Settings
from tests.support.api_process import ApiProcess
from tests.support.polling import eventually

CREATES = 40


@pytest.fixture
def api_process(base_settings: Settings, tmp_path: Path) -> Iterator[ApiProcess]:
    process = ApiProcess(base_settings, tmp_path)
    yield process
    process.kill()


async def test_creates_retried_after_an_api_kill_make_one_execution_each(
    api_process: ApiProcess,
) -> None:
    await api_process.start()
    headers = api_process.headers
    async with httpx.AsyncClient(base_url=api_process.url, headers=headers, timeout=30) as http:
        definition = {"id": "gate", "name": "Gate", "steps": [_wait_step()]}
        (await http.post("/api/v1/workflows", json=definition)).raise_for_status()
        keys = [f"order-{n}-{uuid.uuid4().hex}" for n in range(CREATES)]

        async def create(key: str) -> httpx.Response:
            body = {"workflow_id": "gate", "input_data": {"order": key}}
            idempotent = {"Idempotency-Key": key}
            return await http.post("/api/v1/executions", json=body, headers=idempotent)

        # All creates in flight at once; the API dies as soon as the first one is answered.
        pending = {asyncio.create_task(create(key)): key for key in keys}
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        api_process.kill()
        first: dict[str, str] = {}
        for task, key in pending.items():
            try:
                response = task.result() if task.done() else await task
            except httpx.HTTPError:
                continue
            if response.status_code == 201:
                first[key] = response.json()["id"]
        assert len(first) < CREATES, "the kill interrupted no create"

        await api_process.start()
        retried = await asyncio.gather(*(create(key) for key in keys))
        assert all(r.status_code in (200, 201) for r in retried), [r.text for r in retried]
        ids = {key: r.json()["id"] for key, r in zip(keys, retried, strict=True)}
        assert all(ids[key] == id_ for key, id_ in first.items())  # answered ones are kept
        assert len(set(ids.values())) == CREATES

        async def listed() -> dict[str, Any]:
            response = await http.get("/api/v1/executions", params={"page_size": 100})
            return dict(response.json())

        # Visibility is eventually consistent: wait for every execution to be listed, then
        # check that nothing more is (no duplicate from a retried create).
        page = await eventually(
            listed, lambda page: {row["id"] for row in page["items"]} >= set(ids.values())
        )
        assert page["total"] == CREATES
        assert {row["id"] for row in page["items"]} == set(ids.values())


def _wait_step() -> dict[str, Any]:
    return {"id": "hold", "kind": "wait", "with": {"signal": "go"}}
