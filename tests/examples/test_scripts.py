"""The README's example scripts (`examples/run-*.sh`), run as a user runs them: bash and curl
against `ferryman api` as its own process, the session's worker running their runs (the `llm`
one against the local model server). All at once, as two users' terminals could."""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path

import pytest

from tests.support.api_process import ApiProcess
from tests.support.llm_server import LlmServer, Reply, ToolCall
from tests.support.paths import ROOT

SCRIPT_TIMEOUT_SECS = 120.0


def data_dir_of(api: ApiProcess, path: Path) -> dict[str, str]:
    """The environment of a user whose `ferryman up` wrote its data dir: the scripts find the
    API's URL and key there (`api-url`, `dev-api-key`), no variable set."""
    path.mkdir(exist_ok=True)
    (path / "api-url").write_text(api.url + "\n")
    (path / "dev-api-key").write_text(api.key + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERRYMAN_API")}
    return {**env, "FERRYMAN_DATA_DIR": str(path)}


async def run_script(env: dict[str, str], name: str, *args: str, exit_code: int = 0) -> str:
    """Its output (stdout and stderr); the script must exit with `exit_code`."""
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
    assert process.returncode == exit_code, f"{name} exited {process.returncode}:\n{text}"
    return text


def snapshots(output: str) -> list[list[str]]:
    """run-concurrency.sh prints `==> time` and then one line per run, four times."""
    return [block.splitlines()[1:] for block in output.split("==> ")[1:]]


@pytest.mark.skipif(not os.path.exists("/usr/bin/curl"), reason="the scripts need curl")
async def test_every_example_script_runs_as_the_readme_shows(
    api_process: ApiProcess, llm_server: LlmServer, tmp_path: Path
) -> None:
    env = data_dir_of(api_process, tmp_path / "data")
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
                *(run_script(env, f"run-{n}.sh", *arguments.get(n, ())) for n in names)
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


@pytest.mark.skipif(not os.path.exists("/usr/bin/curl"), reason="the scripts need curl")
async def test_a_script_whose_run_fails_says_why_and_exits_non_zero(
    api_process: ApiProcess, llm_server: LlmServer
) -> None:
    # FERRYMAN_API_URL and FERRYMAN_API_KEY instead of the data dir's files.
    env = {**os.environ, "FERRYMAN_API_URL": api_process.url, "FERRYMAN_API_KEY": api_process.key}
    # A model the server does not have: a 404, which fails the step at once.
    output = await run_script(env, "run-llm.sh", "Why?", "no-such-model", exit_code=1)
    assert "ended failed, not completed" in output, output
    assert "The model `no-such-model` does not exist" in output, output
    assert "failed None None" not in output


@pytest.mark.skipif(not os.path.exists("/usr/bin/curl"), reason="the scripts need curl")
async def test_a_script_without_an_api_to_talk_to_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERRYMAN_API")}
    env["FERRYMAN_DATA_DIR"] = str(tmp_path)
    output = await run_script(env, "run-hello.sh", exit_code=1)
    assert f"no {tmp_path}/api-url: start `ferryman up` first (or set FERRYMAN_API_URL)" in output
