"""Processes the tests start (`ferryman` commands, workers): their environment, and waiting
for them to serve with their log in the failure."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from ferryman import readiness
from ferryman.readiness import ProcessExited
from ferryman.settings import Settings
from tests.support.paths import ROOT


def cli_env(**extra: str) -> dict[str, str]:
    """This machine's environment without ferryman's settings, so each test sets its own."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("FERRYMAN_", "TEMPORAL_")) and name != "DATABASE_URL"
    }
    # A wide terminal: rich would otherwise wrap sentences at 80 columns. No worker metrics
    # endpoint unless a test asks: the default port would be shared by every worker.
    return {
        **env,
        "COLUMNS": "200",
        "FERRYMAN_GRACEFUL_SHUTDOWN_SECS": "5",
        "FERRYMAN_WORKER_METRICS_PORT": "0",
        **extra,
    }


def spawn_worker(settings: Settings, **extra: str) -> subprocess.Popen[bytes]:
    """`python worker.py` on `settings`' Temporal and task queue, logging to the data dir;
    `extra` environment variables on top (a metrics port, an OTLP endpoint, secrets)."""
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "FERRYMAN_TASK_QUEUE": settings.task_queue,
        "FERRYMAN_DATA_DIR": str(settings.data_dir),
        "FERRYMAN_ACTIVITY_MODULES": "tests.support.activities",
        "FERRYMAN_GRACEFUL_SHUTDOWN_SECS": "5",
        "FERRYMAN_WORKER_METRICS_PORT": "0",
        **extra,
    }
    log = open(settings.data_dir / f"{settings.task_queue}.log", "ab")  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, str(ROOT / "worker.py")], cwd=ROOT, env=env, stdout=log, stderr=log
    )


async def wait_serving(
    name: str,
    process: subprocess.Popen[bytes],
    url: str,
    log: Path,
    timeout: float,
    interval: float = 0.1,
) -> None:
    """Until `url` answers 200; if `process` dies or time runs out, fail with its log."""
    try:
        await readiness.wait_serving(url, {name: process}, timeout=timeout, interval=interval)
    except (TimeoutError, ProcessExited) as err:
        raise AssertionError(f"{err}:\n{await asyncio.to_thread(log.read_text)}") from None
