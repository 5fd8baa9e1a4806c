"""The bench's process tree, shaped like a deployment: a Temporal dev server, ferryman's
worker and API as `ferryman up` runs them (one process each), a worker of hand-written
temporalio code (the raw side), the minimal facade (its app and its own raw worker), the
DBOS app (its own venv, on a fresh PostgreSQL database), the local HTTP service every side's
steps call, and this process as the client of them all."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client, WorkflowFailureError

from bench import dbos_env
from bench.cpu import Meter, backends_of
from bench.raw_workloads import FACADE_QUEUE, RAW_QUEUE, RawSequential
from ferryman.devserver import headless_dev_server
from ferryman.processes import die_with_parent, free_port
from ferryman.readiness import ProcessExited, wait_serving, wait_until
from ferryman.settings import Settings
from ferryman.temporal import connect, ensure_retention, has_pollers

KEY = "fm_bench_" + uuid.uuid4().hex
ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_SECS = 90.0
SERVER = "temporal server"
CLIENT = "bench client"
POSTGRES = "postgres (bench db)"


@dataclass
class Rig:
    client: Client  # ferryman's data converter: reads ferryman's runs
    raw_client: Client  # temporalio's defaults: the raw side's client
    http: httpx.AsyncClient  # ferryman's API
    headers: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]]
    target: str  # the base URL of the HTTP service the steps GET
    apps: dict[str, httpx.AsyncClient]  # "facade", "dbos": each on its app's base URL
    meter: Meter
    dbos_version: str | None = None
    logs: Path = field(default_factory=Path)

    @property
    def target_url(self) -> str:
        """What every side's steps GET."""
        return f"{self.target}/item"

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
        await self.raw_client.start_workflow(
            RawSequential.run, steps, id=workflow_id, task_queue=RAW_QUEUE
        )
        return workflow_id

    async def raw_finish(self, workflow_id: str) -> None:
        await self.raw_client.get_workflow_handle(workflow_id).result()

    def rss_mb(self, role: str) -> float:
        """Resident memory of one of the rig's processes, now."""
        status = Path(f"/proc/{self.processes[role].pid}/status").read_text()
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
        return round(int(kib) / 1024, 1)


@asynccontextmanager
async def rig(sides: set[str], say: Callable[[str], None]) -> AsyncIterator[Rig]:
    """The process tree for `sides` (ferryman and raw always run: every scenario uses them)."""
    async with AsyncExitStack() as stack:
        data = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        dbos_version = dbos_env.ensure_venv(say) if "dbos" in sides else None
        server = await stack.enter_async_context(headless_dev_server(data))
        database = (
            await stack.enter_async_context(dbos_env.fresh_database()) if "dbos" in sides else None
        )
        settings = Settings(data_dir=data, temporal_address=server.address)
        client = await connect(settings)
        await ensure_retention(client, settings.retention_days)
        ports = {role: free_port() for role in ("api", "target", "facade", "dbos")}
        commands = _commands(server.address, ports, sides, database)
        processes = stack.enter_context(_processes(commands, _env(server.address, data, ports)))
        urls = {role: f"http://127.0.0.1:{port}" for role, port in ports.items()}
        try:
            await _wait_serving(processes, urls, sides)
        except ProcessExited:
            _show_logs(data, say)
            raise
        limits = httpx.Limits(max_connections=50)
        http = await stack.enter_async_context(
            httpx.AsyncClient(base_url=urls["api"], limits=limits)
        )
        apps: dict[str, httpx.AsyncClient] = {
            side: await stack.enter_async_context(
                httpx.AsyncClient(base_url=urls[side], limits=limits)
            )
            for side in ("facade", "dbos")
            if side in sides
        }
        queues = [settings.task_queue, RAW_QUEUE] + ([FACADE_QUEUE] if "facade" in sides else [])
        await _wait_pollers(client, queues)
        assert server.process is not None
        roles = {SERVER: _fixed(server.process.pid), CLIENT: _fixed(os.getpid())}
        roles |= {role: _fixed(process.pid) for role, process in processes.items()}
        if database is not None:
            name = database.rsplit("/", 1)[1]
            roles[POSTGRES] = lambda: backends_of(name)
        yield Rig(
            client=client,
            raw_client=await Client.connect(server.address),
            http=http,
            headers={"X-API-Key": KEY},
            processes=processes,
            target=urls["target"],
            apps=apps,
            meter=Meter(roles),
            dbos_version=dbos_version,
            logs=data,
        )


def _fixed(pid: int) -> Callable[[], list[int]]:
    return lambda: [pid]


def _env(address: str, data: Path, ports: dict[str, int]) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "TEMPORAL_ADDRESS": address,
        "FERRYMAN_DATA_DIR": str(data),
        "FERRYMAN_API_PORT": str(ports["api"]),
        "FERRYMAN_BOOTSTRAP_API_KEY": KEY,
        "FERRYMAN_ACTIVITY_MODULES": "bench.workloads",
        "FERRYMAN_LOG_LEVEL": "WARNING",
        "FERRYMAN_HTTP_BLOCK_PRIVATE_NETWORKS": "false",  # the steps call 127.0.0.1
        # Metrics on, as deployed, on a port of the bench's own.
        "FERRYMAN_WORKER_METRICS_PORT": str(free_port()),
    }


def _commands(
    address: str, ports: dict[str, int], sides: set[str], database: str | None
) -> dict[str, list[str]]:
    python = sys.executable
    commands = {
        "http target": [python, "-m", "bench.http_target", str(ports["target"])],
        "ferryman worker": [python, "-m", "ferryman", "worker"],
        "ferryman api": [python, "-m", "ferryman", "api"],
        "raw worker": [python, "-m", "bench.raw_worker", address, RAW_QUEUE],
    }
    if "facade" in sides:
        commands["facade worker"] = [python, "-m", "bench.raw_worker", address, FACADE_QUEUE]
        facade = [python, "-m", "bench.facade", address, FACADE_QUEUE, str(ports["facade"])]
        commands["facade app"] = facade
    if database is not None:
        dbos = [str(dbos_env.VENV_PYTHON), "-m", "bench.dbos_app", database, str(ports["dbos"])]
        commands["dbos app"] = dbos
    return commands


@contextmanager
def _processes(
    commands: dict[str, list[str]], env: dict[str, str]
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Each command in its own process, its output in `<role>.log` in the data directory."""
    data = Path(env["FERRYMAN_DATA_DIR"])
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for role, command in commands.items():
            with (data / f"{role.replace(' ', '-')}.log").open("wb") as log:
                processes[role] = subprocess.Popen(
                    command, env=env, stdout=log, stderr=log, preexec_fn=die_with_parent
                )
        yield processes
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


async def _wait_serving(
    processes: dict[str, subprocess.Popen[bytes]], urls: dict[str, str], sides: set[str]
) -> None:
    named = {f"the bench's {role}": process for role, process in processes.items()}
    probes = {"api": "/readyz", "target": "/", "facade": "/health", "dbos": "/health"}
    hint = " (the logs follow)"
    await asyncio.gather(
        *(
            wait_serving(urls[role] + path, named, timeout=READY_TIMEOUT_SECS, hint=hint)
            for role, path in probes.items()
            if role in ("api", "target") or role in sides
        )
    )


def _show_logs(data: Path, say: Callable[[str], None]) -> None:
    """The end of every process's log, before the data directory goes."""
    for log in sorted(data.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-15:]
        if tail:
            say(f"--- {log.name}")
            for line in tail:
                say(f"  {line}")


async def _wait_pollers(client: Client, queues: list[str]) -> None:
    """Every worker polls before anything is timed: no scenario pays a worker's start-up."""

    async def polled() -> bool:
        return all([await has_pollers(client, queue) for queue in queues])

    await wait_until(
        polled, timeout=READY_TIMEOUT_SECS, what=f"workers to poll {', '.join(queues)}"
    )
