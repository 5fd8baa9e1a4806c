"""The one way ferryman waits for something: answers, timeouts, and dead processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from ferryman.processes import pid_running, wait_gone
from ferryman.readiness import ProcessExited, check_running, wait_serving, wait_until


async def test_wait_until_returns_the_first_truthy_answer() -> None:
    answers = iter([None, 0, "", "ready"])

    async def probe() -> str | int | None:
        return next(answers)

    assert await wait_until(probe, timeout=5, interval=0.01, what="the answer") == "ready"


async def test_wait_until_names_what_it_waited_for() -> None:
    async def never() -> bool:
        return False

    with pytest.raises(TimeoutError, match=r"after 0\.2s waiting for the moon to rise"):
        await wait_until(never, timeout=0.2, interval=0.01, what="the moon to rise")


async def test_a_hanging_probe_cannot_stretch_the_wait() -> None:
    async def hang() -> bool:
        await asyncio.Event().wait()  # never set
        return True

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await wait_until(hang, timeout=0.2, what="a hanging probe")
    assert time.monotonic() - started < 5


@pytest.fixture
def exited() -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait()
    return process


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A process in a session of its own, as `up` starts the dev server."""
    command = [sys.executable, "-c", "import time; time.sleep(60)"]
    process = subprocess.Popen(command, start_new_session=True)
    yield process
    process.kill()
    process.wait()


async def test_a_process_that_dies_fails_the_wait_at_once(
    exited: subprocess.Popen[bytes],
) -> None:
    with pytest.raises(ProcessExited, match="the thing exited with code 3; see its log"):
        check_running(exited, "the thing", hint="; see its log")
    with pytest.raises(ProcessExited, match="the thing exited with code 3"):
        await wait_serving("http://127.0.0.1:9/", {"the thing": exited}, timeout=30)


async def test_wait_gone_kills_what_outlives_the_grace(sleeper: subprocess.Popen[bytes]) -> None:
    await wait_gone(sleeper.pid, grace=0.2)
    assert sleeper.wait(timeout=10) == -9
    assert not pid_running(sleeper.pid)
