"""The README's example scripts (`examples/run-*.sh`), run as a user runs them: bash and curl
against `ferryman api` as its own process, the session's worker running their runs (the `llm`
one against the local model server). All at once, as two users' terminals could."""

from __future__ import annotations

import asyncio
import json
import os
import re

import pytest

from tests.support.api_process import ApiProcess
from tests.support.llm_server import LlmServer, Reply, ToolCall
from tests.support.paths import ROOT

SCRIPT_TIMEOUT_SECS = 120.0


async def run_script(api: ApiProcess, name: str, *args: str) -> str:
    """Its output; the script must exit 0."""
    env = {**os.environ, "FERRYMAN_API": api.url, "FERRYMAN_API_KEY": api.key}
    process = await asyncio.create_subprocess_exec(
        "bash",
        str(ROOT / "examples" / name),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(SCRIPT_TIMEOUT_SECS):
            out, _ = await process.communicate()
    except TimeoutError:
        process.kill()
        raise
    text = out.decode()
    assert process.returncode == 0, f"{name} exited {process.returncode}:\n{text}"
    return text


def snapshots(output: str) -> list[list[str]]:
    """run-concurrency.sh prints `==> time` and then one line per run, four times."""
    return [block.splitlines()[1:] for block in output.split("==> ")[1:]]


@pytest.mark.skipif(not os.path.exists("/usr/bin/curl"), reason="the scripts need curl")
async def test_every_example_script_runs_as_the_readme_shows(
    api_process: ApiProcess, llm_server: LlmServer
) -> None:
    model = llm_server.script(
        [
            Reply(tool_calls=[ToolCall("json_validate", {"data": {}, "schema": {}})]),
            Reply(content=json.dumps({"answer": "Rayleigh scattering"})),
        ]
    )
    names = ["hello", "concurrency", "delayed", "children", "dependencies", "cron", "llm"]
    arguments: dict[str, tuple[str, ...]] = {"llm": ("Why is the sky blue?", model)}
    outputs = dict(
        zip(
            names,
            await asyncio.gather(
                *(run_script(api_process, f"run-{n}.sh", *arguments.get(n, ())) for n in names)
            ),
            strict=True,
        )
    )

    assert '"status": "completed"' in outputs["hello"]
    assert "Hello Ada" in outputs["hello"]

    runs = snapshots(outputs["concurrency"])
    # The first listing may come before visibility lists every trigger; the last has all six.
    assert len(runs) == 4 and len(runs[-1]) == 6, outputs["concurrency"]
    for lines in runs:  # tenant-sync allows 2 runs of one tenant at once
        busy = [line for line in lines if "key=acme" in line and re.search("waiting|running", line)]
        assert len(busy) <= 2, lines

    assert "completed Reminder for ada: review" in outputs["delayed"]
    assert "expired - expired while delayed" in outputs["delayed"]

    children = [line.split() for line in outputs["children"].split("its children")[1].splitlines()]
    kinds = sorted((c[1], c[3]) for c in children if len(c) == 5)
    expected = [("reminder", "workflow"), ("resize-image", "spawn"), ("resize-image", "spawn")]
    assert kinds == expected, outputs["children"]

    assert "publish: completed" in outputs["dependencies"]
    assert outputs["dependencies"].rstrip().endswith('"dependencies_satisfied": true\n}'), outputs[
        "dependencies"
    ]

    assert '"triggered_by": "cron"' in outputs["cron"]
    assert "==> deleted" in outputs["cron"]

    assert "Rayleigh scattering" in outputs["llm"].split("==> the run")[0]  # streamed
    assert "completed" in outputs["llm"].split("==> the run")[1]
    assert '"tool_name": "json.validate"' in outputs["llm"]  # its tool call, from /tool-calls
    assert '"status": "completed"' in outputs["llm"].split("==> tool-calls")[1]
