"""The API process killed in the middle of creates: clients that retry with their
Idempotency-Key get exactly one execution each, whatever step the kill interrupted."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ferryman.devserver import free_port
from ferryman.settings import Settings
from tests.conftest import ROOT
from tests.helpers import eventually
from tests.test_cli import cli_env

CREATES = 40
READY_TIMEOUT = 60.0


class ApiProcess:
    """`ferryman api` in a subprocess; `start()` again after a kill reuses its data."""

    def __init__(self, settings: Settings, data_dir: Path, key: str) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = data_dir / "api.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.env = cli_env(
            TEMPORAL_ADDRESS=settings.temporal_address,
            TEMPORAL_NAMESPACE=settings.temporal_namespace,
            FERRYMAN_DATA_DIR=str(data_dir),
            FERRYMAN_API_PORT=self.url.rsplit(":", 1)[1],
            FERRYMAN_BOOTSTRAP_API_KEY=key,
            FERRYMAN_BOOTSTRAP_PROJECT=f"crash-{uuid.uuid4().hex[:8]}",
            # No worker polls this queue: the executions stay queued, to be counted.
            FERRYMAN_TASK_QUEUE=f"crash-{uuid.uuid4().hex[:8]}",
        )

    async def start(self) -> None:
        self._spawn()
        await self._wait_ready()

    def _spawn(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ferryman", "api"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as http:
            while time.monotonic() < deadline:
                assert self.process.poll() is None, self.log.read_text()
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"the API was not ready in {READY_TIMEOUT}s:\n{self.log.read_text()}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def api_process(base_settings: Settings, tmp_path: Path) -> Iterator[ApiProcess]:
    process = ApiProcess(base_settings, tmp_path, f"fm_crash_{uuid.uuid4().hex}")
    yield process
    process.kill()


async def test_creates_retried_after_an_api_kill_make_one_execution_each(
    api_process: ApiProcess,
) -> None:
    await api_process.start()
    headers = {"X-API-Key": api_process.env["FERRYMAN_BOOTSTRAP_API_KEY"]}
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

        page = await eventually(listed, lambda page: page["total"] >= CREATES)
        assert page["total"] == CREATES
        assert {row["id"] for row in page["items"]} == set(ids.values())


def _wait_step() -> dict[str, Any]:
    return {"id": "hold", "kind": "wait", "with": {"signal": "go"}}
