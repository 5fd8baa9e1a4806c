"""An API process and a worker process (`ferryman api`, `python worker.py`) on a task queue
of their own, driven over real HTTP: for tests of what the processes themselves expose
(metrics endpoints, exported traces)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from ferryman.settings import Settings
from ferryman.temporal import has_pollers
from tests.support.api_process import ApiProcess
from tests.support.polling import eventually
from tests.support.processes import spawn_worker


@dataclass
class Pair:
    api: ApiProcess
    http: httpx.AsyncClient  # on the API, with its key

    async def job(self, document: dict[str, Any]) -> str:
        """Register `document`; its job id."""
        response = await self.http.post("/api/v1/workflows", json=document)
        assert response.status_code == 201, response.text
        return str(document["id"])

    async def trigger(self, job: str, **headers: str) -> dict[str, Any]:
        response = await self.http.post(f"/v1/jobs/{job}/trigger", json={}, headers=headers)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def settled(self, run_id: str, *statuses: str) -> None:
        """Until the run's status is one of `statuses`."""

        async def read() -> str:
            return str((await self.http.get(f"/v1/runs/{run_id}")).json()["status"])

        await eventually(read, lambda s: s in statuses, timeout=60)


@asynccontextmanager
async def running_pair(
    settings: Settings, client: Client, data_dir: Path, **env: str
) -> AsyncIterator[Pair]:
    """Both processes on a fresh task queue and `settings`' metadata store, each with `env`
    on top of its own (the worker's secrets, metrics port, OTLP endpoint, ...)."""
    settings = settings.model_copy(update={"task_queue": f"pair-{uuid.uuid4().hex[:8]}"})
    store = {"DATABASE_URL": settings.resolved_database_url}
    worker = spawn_worker(settings, **store, **env)
    api = ApiProcess(settings, data_dir)
    api.env.update(FERRYMAN_TASK_QUEUE=settings.task_queue, **store, **env)
    try:
        # Polling means its activities are published: definitions naming them validate.
        await eventually(lambda: has_pollers(client, settings.task_queue), bool)
        await api.start()
        async with httpx.AsyncClient(base_url=api.url, headers=api.headers, timeout=20) as http:
            yield Pair(api, http)
    finally:
        api.kill()
        _stop(worker)


def _stop(worker: subprocess.Popen[bytes]) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def secret_call(http_target: str, after: str | None = None) -> dict[str, Any]:
    """An `http` step whose URL carries `{{ secrets.TOKEN }}` (the worker's
    FERRYMAN_SECRET_TOKEN), to be searched for where it must never be."""
    step: dict[str, Any] = {
        "id": "call",
        "kind": "http",
        "with": {"url": http_target + "/echo?key={{ secrets.TOKEN }}"},
    }
    if after is not None:
        step["depends_on"] = [after]
    return step
