"""The bench's process tree, shaped like a deployment: a Temporal dev server, ferryman's
worker and API as `ferryman up` runs them (one process each), the raw side's worker in its
own process, and this process as the client of both."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client, WorkflowFailureError

from bench.raw_workloads import RAW_QUEUE, RawSequential
from ferryman.devserver import headless_dev_server
from ferryman.processes import free_port
from ferryman.readiness import wait_serving, wait_until
from ferryman.settings import Settings
from ferryman.temporal import connect, ensure_retention, has_pollers

KEY = "fm_bench_" + uuid.uuid4().hex
ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_SECS = 60.0


@dataclass
class Rig:
    client: Client
    http: httpx.AsyncClient
    headers: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]]

    async def create(self, workflow_id: str, **input_data: Any) -> str:
        response = await self.http.post(
            "/api/v1/executions",
            json={"workflow_id": workflow_id, "input_data": input_data},
            headers=self.headers,
        )
        response.raise_for_status()
        return str(response.json()["id"])

    async def finish(self, execution_id: str) -> None:
        await self.client.get_workflow_handle(execution_id).result()

    async def closed(self, execution_id: str) -> None:
        """Wait until the execution has closed, however it ended."""
        with contextlib.suppress(WorkflowFailureError):
            await self.finish(execution_id)

    async def raw(self, steps: int) -> str:
        workflow_id = f"raw-{uuid.uuid4().hex}"
        await self.client.start_workflow(
            RawSequential.run, steps, id=workflow_id, task_queue=RAW_QUEUE
        )
        return workflow_id

    def rss_mb(self, role: str) -> float:
        """Resident memory of one of the rig's processes, now."""
        status = Path(f"/proc/{self.processes[role].pid}/status").read_text()
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
        return round(int(kib) / 1024, 1)


@asynccontextmanager
async def rig() -> AsyncIterator[Rig]:
    with tempfile.TemporaryDirectory() as data:
        async with headless_dev_server(Path(data)) as server:
            settings = Settings(data_dir=Path(data), temporal_address=server.address)
            client = await connect(settings)
            await ensure_retention(client, settings.retention_days)
            port = free_port()
            with _processes(server.address, Path(data), port) as processes:
                base_url = f"http://127.0.0.1:{port}"
                named = {f"the bench's {role}": process for role, process in processes.items()}
                await wait_serving(f"{base_url}/readyz", named, timeout=READY_TIMEOUT_SECS)
                limits = httpx.Limits(max_connections=50)
                async with httpx.AsyncClient(base_url=base_url, limits=limits) as http:
                    await _wait_pollers(client, [settings.task_queue, RAW_QUEUE])
                    yield Rig(client, http, {"X-API-Key": KEY}, processes)


@contextmanager
def _processes(address: str, data: Path, port: int) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "TEMPORAL_ADDRESS": address,
        "FERRYMAN_DATA_DIR": str(data),
        "FERRYMAN_API_PORT": str(port),
        "FERRYMAN_BOOTSTRAP_API_KEY": KEY,
        "FERRYMAN_ACTIVITY_MODULES": "bench.workloads",
        "FERRYMAN_LOG_LEVEL": "WARNING",
    }
    commands = {
        "worker": [sys.executable, "-m", "ferryman", "worker"],
        "api": [sys.executable, "-m", "ferryman", "api"],
        "raw worker": [sys.executable, "-m", "bench.raw_worker", address],
    }
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for role, command in commands.items():
            with (data / f"{role.replace(' ', '-')}.log").open("wb") as log:
                processes[role] = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        yield processes
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


async def _wait_pollers(client: Client, queues: list[str]) -> None:
    """Both workers poll before anything is timed: no scenario pays a worker's start-up."""

    async def polled() -> bool:
        return all([await has_pollers(client, queue) for queue in queues])

    await wait_until(
        polled, timeout=READY_TIMEOUT_SECS, what=f"workers to poll {', '.join(queues)}"
    )
