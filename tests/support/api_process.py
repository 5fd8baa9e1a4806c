"""`ferryman api` as its own process on the session's dev server: for tests that kill it
or drive it over real HTTP. The `api_process` fixture is one whose runs the session's worker
runs (in the test process: API and worker two processes apart), on the worker's metadata
store."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from ferryman.processes import free_port
from ferryman.settings import Settings
from tests.support.paths import ROOT
from tests.support.processes import cli_env, wait_serving

READY_TIMEOUT = 60.0


class ApiProcess:
    """One project, one bootstrap key, a task queue no worker polls (executions stay
    queued, to be counted). `start()` again after `kill()` reuses the data directory."""

    def __init__(self, settings: Settings, data_dir: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self.key = f"fm_proc_{uuid.uuid4().hex}"
        self.log = data_dir / "api.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.env = cli_env(
            TEMPORAL_ADDRESS=settings.temporal_address,
            TEMPORAL_NAMESPACE=settings.temporal_namespace,
            FERRYMAN_DATA_DIR=str(data_dir),
            FERRYMAN_API_PORT=self.url.rsplit(":", 1)[1],
            FERRYMAN_BOOTSTRAP_API_KEY=self.key,
            FERRYMAN_BOOTSTRAP_PROJECT=f"proc-{uuid.uuid4().hex[:8]}",
            FERRYMAN_TASK_QUEUE=f"proc-{uuid.uuid4().hex[:8]}",
        )

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.key}

    async def start(self) -> None:
        """Spawn the process and return once it answers /readyz."""
        process = self._spawn()
        await wait_serving("the API", process, f"{self.url}/readyz", self.log, READY_TIMEOUT)

    def _spawn(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ferryman", "api"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self.process

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


async def _served(settings: Settings, data_dir: Path) -> ApiProcess:
    process = ApiProcess(settings, data_dir)
    # The worker's task queue, and its metadata store: the activities it published.
    process.env["FERRYMAN_TASK_QUEUE"] = settings.task_queue
    process.env["DATABASE_URL"] = settings.resolved_database_url
    await process.start()
    return process


@pytest_asyncio.fixture
async def api_process(
    base_settings: Settings, worker: None, tmp_path: Path
) -> AsyncIterator[ApiProcess]:
    process = await _served(base_settings, tmp_path)
    yield process
    process.kill()


@pytest_asyncio.fixture(scope="module")
async def module_api_process(
    base_settings: Settings, worker: None, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ApiProcess]:
    """`api_process` shared by the tests of a module (for those that only call it)."""
    process = await _served(base_settings, tmp_path_factory.mktemp("api"))
    yield process
    process.kill()
