"""examples/client.py, run as a user runs it (sync, then with --async) against `ferryman api`
as its own process; it finds the API in FERRYMAN_API_URL and FERRYMAN_API_KEY."""

from __future__ import annotations

import asyncio
import sys

from tests.support.api_process import ApiProcess
from tests.support.paths import ROOT
from tests.support.processes import cli_env


async def test_the_client_example_runs_hello_to_completion(api_process: ApiProcess) -> None:
    env = cli_env(FERRYMAN_API_URL=api_process.url, FERRYMAN_API_KEY=api_process.key)
    for args, change, by in (([], "created", "examples"), (["--async"], None, "asyncio")):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "examples" / "client.py"),
            *args,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
        text = out.decode()
        assert process.returncode == 0, text
        if change:
            assert f"job hello: {change}, version 1" in text
        assert "signal.received" in text and "execution.completed" in text
        assert f"'approved_by': '{by}'" in text and "Hello Ada, ferryman says ok" in text
