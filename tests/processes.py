"""Processes the tests start: waiting for them to serve, with their log in the failure."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from ferryman import readiness
from ferryman.readiness import ProcessExited


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
