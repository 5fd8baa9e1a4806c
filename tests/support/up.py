"""`ferryman up` as a subprocess, with every pid it was seen to start, so a test can check
they are all gone at the end (and kill what is left, even on failure)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ferryman.processes import free_port
from tests.support.paths import ROOT
from tests.support.polling import eventually
from tests.support.processes import cli_env, wait_serving

READY_TIMEOUT = 90.0
STOP_TIMEOUT = 40.0


def alive(pid: int) -> bool:
    """Running (a zombie has exited: only its parent has not read its status yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass
class Up:
    """`ferryman up` in a subprocess, with every pid it was seen to start."""

    data_dir: Path
    log: Path
    port: int = field(default_factory=free_port)
    temporal_port: int = field(default_factory=free_port)
    ui_port: int = field(default_factory=free_port)
    worker_metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    seen: set[int] = field(default_factory=set)
    ready_lines_before: int = 0  # `ready` lines in the log when this start began
    # How `ferryman` is run, and from where: the checkout's interpreter by default.
    command: list[str] = field(default_factory=lambda: [sys.executable, "-m", "ferryman"])
    cwd: Path = ROOT
    env: dict[str, str] = field(default_factory=cli_env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def worker_metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.worker_metrics_port}/metrics"

    def start(self) -> None:
        self.env["FERRYMAN_WORKER_METRICS_PORT"] = str(self.worker_metrics_port)
        args = ["--data-dir", str(self.data_dir), "--port", str(self.port)]
        args += ["--temporal-port", str(self.temporal_port), "--ui-port", str(self.ui_port)]
        self.ready_lines_before = self._ready_lines()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.command, "up", *args],
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.seen.add(self.process.pid)

    def pids(self) -> dict[str, int]:
        pids = json.loads((self.data_dir / "up.pids").read_text())
        self.seen.update(pid for pid in pids.values() if pid)
        return dict(pids)

    def children(self) -> set[int]:
        assert self.process is not None
        out = subprocess.run(
            ["ps", "--ppid", str(self.process.pid), "-o", "pid="], capture_output=True, text=True
        ).stdout
        found = {int(pid) for pid in out.split()}
        self.seen.update(found)
        return found

    async def wait_ready(self) -> None:
        """Until `up` has said it is ready: its API answers `/readyz`, and then its panel
        (the URLs, the key) and its `ready` line reach the log, a moment later. The log
        is appended to by each start, so this start's line is one more than before it."""
        assert self.process is not None
        await wait_serving(
            "`up`", self.process, f"{self.url}/readyz", self.log, READY_TIMEOUT, interval=0.25
        )
        await eventually(
            lambda: asyncio.to_thread(self._ready_lines),
            lambda said: said > self.ready_lines_before,
            timeout=READY_TIMEOUT,
        )

    def _ready_lines(self) -> int:
        text = self.log.read_text() if self.log.exists() else ""
        return sum(line.strip() == "ready" for line in text.splitlines())

    def stop(self, sig: signal.Signals = signal.SIGINT) -> int:
        """Ctrl-C (as a terminal sends it) or SIGTERM; the exit code."""
        assert self.process is not None
        self.process.send_signal(sig)
        return self.process.wait(timeout=STOP_TIMEOUT)

    def kill_all(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(OSError, ValueError):  # record what it started so far
                self.pids()
            self.children()
        for pid in self.seen:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if self.process is not None and self.process.poll() is None:
            self.process.wait()


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    running = Up(data_dir=tmp_path / "data", log=tmp_path / "up.log")
    try:
        yield running
    finally:
        running.kill_all()
