"""Waiting for something to become ready: poll a probe, never sleep a fixed time.

A probe answers "not yet" with a falsy value and "ready" with anything else (which the wait
returns); it raises to fail the wait at once, e.g. `check_running` when the process being
waited on has died.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import httpx

T = TypeVar("T")
PROBE_TIMEOUT_SECS = 2.0


class ProcessExited(RuntimeError):
    """A process that something waits on has ended; the message names it and its exit code."""


def check_running(process: subprocess.Popen[bytes] | None, name: str, *, hint: str = "") -> None:
    """Raise `ProcessExited` ("<name> exited with code N<hint>") if `process` has ended, so a
    wait on a process that died fails at once instead of at its timeout."""
    code = process.poll() if process is not None else None
    if code is not None:
        raise ProcessExited(f"{name} exited with code {code}{hint}")


async def wait_until(
    probe: Callable[[], Awaitable[T | None]],
    *,
    timeout: float,  # noqa: ASYNC109 (a parameter, not asyncio.timeout: the error names `what`)
    interval: float = 0.1,
    what: str,
) -> T:
    """`probe`'s first truthy answer; `TimeoutError` naming `what` once `timeout` has passed.

    `what` completes "waiting for ...", e.g. "the API to answer /readyz". A probe still
    running at the deadline is cancelled, so a hanging probe cannot stretch the wait.
    """
    try:
        async with asyncio.timeout(timeout):
            while True:
                answer = await probe()
                if answer:
                    return answer
                await asyncio.sleep(interval)
    except TimeoutError:
        raise TimeoutError(f"gave up after {timeout:g}s waiting for {what}") from None


async def http_ok(http: httpx.AsyncClient, url: str) -> bool:
    """Whether `url` answers 200 now; a refused or failed connection means "not yet"."""
    with contextlib.suppress(httpx.HTTPError):
        return (await http.get(url, timeout=PROBE_TIMEOUT_SECS)).status_code == 200
    return False


async def port_open(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on `host:port` now."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), PROBE_TIMEOUT_SECS)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def wait_serving(
    url: str,
    processes: Mapping[str, subprocess.Popen[bytes]],
    *,
    timeout: float,  # noqa: ASYNC109 (passed on to wait_until)
    interval: float = 0.1,
    hint: str = "",
) -> None:
    """Until `url` answers 200; `ProcessExited` at once if one of `processes` (by name) ends.

    `hint` follows "<name> exited with code N" in that error, e.g. where the log is.
    """
    async with httpx.AsyncClient() as http:

        async def serving() -> bool:
            for name, process in processes.items():
                check_running(process, name, hint=hint)
            return await http_ok(http, url)

        await wait_until(serving, timeout=timeout, interval=interval, what=f"{url} to answer")
