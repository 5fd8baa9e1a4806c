"""The user's commands as a user runs them: `python -m ferryman ...` processes against a real
`ferryman api` process and the session's worker. Each command also fails once the way a
user would make it fail: the API's sentence and code on stderr, a non-zero exit code.

Blocking runs of a command go to a thread (`ferryman`): the worker runs on this test's
event loop, and the runs the commands watch need it.
"""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from ferryman.processes import free_port
from tests.support.api_process import ApiProcess
from tests.support.definitions import approval_job, job_id, llm_job, parked_job, quick_job
from tests.support.llm_server import LlmServer, Reply
from tests.support.paths import ROOT
from tests.support.polling import eventually
from tests.support.processes import cli_env

COMMAND = [sys.executable, "-m", "ferryman"]
MISSING_RUN = "exec_00000000000000000000000000"


@pytest.fixture
def env(module_api_process: ApiProcess, tmp_path: Path) -> dict[str, str]:
    """The API in the environment; an empty data dir, so nothing else is found."""
    api = module_api_process
    return cli_env(
        FERRYMAN_API_URL=api.url, FERRYMAN_API_KEY=api.key, FERRYMAN_DATA_DIR=str(tmp_path)
    )


async def ferryman(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [*COMMAND, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def refused(result: subprocess.CompletedProcess[str], sentence: str, code: str) -> None:
    """The API's refusal: its sentence and code on stderr, exit code 3, no traceback."""
    assert result.returncode == 3, (result.returncode, result.stdout, result.stderr)
    assert f"{sentence} ({code})" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def job_file(tmp_path: Path, definition: dict[str, Any]) -> Path:
    path = tmp_path / f"{definition['id']}.yaml"
    path.write_text(yaml.safe_dump(definition))
    return path


async def test_jobs_apply_creates_updates_and_keeps_a_version(
    env: dict[str, str], tmp_path: Path
) -> None:
    job = job_id("apply")
    path = job_file(tmp_path, approval_job(job))
    created = await ferryman("jobs", "apply", str(path), env=env)
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == f"created job {job} (version 1)"
    again = await ferryman("jobs", "apply", str(path), env=env)
    assert again.stdout.strip() == f"job {job} unchanged (version 1)"
    path.write_text(yaml.safe_dump({**approval_job(job), "description": "second"}))
    updated = await ferryman("jobs", "apply", str(path), "--output", "json", env=env)
    answer = json.loads(updated.stdout)
    assert answer["change"] == "updated" and answer["job"]["job_version"] == 2
    listed = await ferryman("jobs", "list", "-o", "json", env=env)
    assert job in [row["id"] for row in json.loads(listed.stdout)]
    table = await ferryman("jobs", "list", env=env)
    assert re.search(rf"│ {job}\s+│ 2 ", table.stdout), table.stdout

    missing = await ferryman("jobs", "apply", str(tmp_path / "nope.yaml"), env=env)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump({"id": job_id("broken"), "name": "Broken", "steps": []}))
    invalid = await ferryman("jobs", "apply", str(broken), env=env)
    assert invalid.returncode == 3 and "(definition_invalid)" in invalid.stderr, invalid.stderr
    assert invalid.stderr.startswith("error: steps")


async def test_run_watch_as_a_script_gates_on_the_outcome(
    env: dict[str, str], module_api_process: ApiProcess, llm_server: LlmServer
) -> None:
    api = module_api_process
    good, bad = job_id("good"), job_id("bad")
    text = "Tokens arrive while the step runs"
    model = llm_server.script([Reply(content=text, delay=0.05)])
    talk = job_id("talk")
    for definition in (quick_job(good), quick_job(bad, fail=True), llm_job(talk, model)):
        await api_post(api, definition)

    done = await ferryman("run", good, "--payload", '{"value": 7}', "--watch", env=env)
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stdout  # no colours, no cursor moves: not a terminal
    assert re.search(r"work: running", done.stdout) and re.search(r"work: completed", done.stdout)
    assert re.search(r"run exec_\w+ completed in [\d.]+s; result: 7$", done.stdout.strip())

    failed = await ferryman("run", bad, "--payload", '{"value": 1}', "-w", env=env)
    assert failed.returncode == 1, failed.stderr
    assert "work: failed" in failed.stdout and "planned failure" in failed.stdout
    assert re.search(r"run exec_\w+ failed", failed.stdout)

    tokens = await ferryman("run", talk, "--watch", env=env)
    assert tokens.returncode == 0, tokens.stderr
    streamed = [
        line.split("answer > ", 1)[1] for line in tokens.stdout.splitlines() if "answer > " in line
    ]
    assert "".join(streamed) == text and len(streamed) > 1

    lines = await ferryman("run", good, "-p", '{"value": 8}', "-w", "-o", "json", env=env)
    assert lines.returncode == 0
    objects = [json.loads(line) for line in lines.stdout.splitlines()]
    assert objects[-1]["run"]["status"] == "completed" and objects[-1]["run"]["result"] == 8
    assert {next(iter(o)) for o in objects[:-1]} <= {"event", "chunk"}

    unknown = await ferryman("run", "no-such-job", "--watch", env=env)
    refused(unknown, "workflow 'no-such-job' not found", "workflow_not_found")
    bad_payload = await ferryman("run", good, "--payload", "{nope", env=env)
    assert bad_payload.returncode == 2 and "--payload is not valid JSON" in bad_payload.stderr
    no_file = await ferryman("run", good, "--payload", "@/nonexistent.json", env=env)
    assert no_file.returncode == 2 and "cannot read --payload file" in no_file.stderr


async def test_run_watch_in_a_terminal_draws_a_live_table(
    env: dict[str, str], module_api_process: ApiProcess
) -> None:
    job = job_id("tty")
    await api_post(module_api_process, quick_job(job))
    code, screen = await asyncio.to_thread(
        in_a_terminal, [*COMMAND, "run", job, "-p", '{"value": 3}', "--watch"], env
    )
    assert code == 0, screen
    assert "\x1b[?25l" in screen  # the live display hides the cursor while it redraws
    assert re.search(r"│ work\s+│ .*completed", screen), screen
    assert "completed" in screen and "result: 3" in screen


def in_a_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run `argv` with a pseudo-terminal for its output; its exit code and the screen."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        env={**env, "TERM": "xterm-256color"},
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    screen = bytearray()
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # EIO: the process closed the terminal
            break
        if not data:
            break
        screen += data
    os.close(leader)
    return process.wait(timeout=120), screen.decode(errors="replace")


async def test_approve_delivers_an_event_to_a_watched_run(
    env: dict[str, str], module_api_process: ApiProcess
) -> None:
    job = job_id("approve")
    await api_post(module_api_process, approval_job(job))
    watcher = await asyncio.create_subprocess_exec(
        *COMMAND,
        "run",
        job,
        "-p",
        '{"name": "Ada"}',
        "--watch",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert watcher.stdout is not None and watcher.stderr is not None
    seen: list[str] = []
    while not any("waiting for the event 'approve'" in line for line in seen):
        line = await asyncio.wait_for(watcher.stdout.readline(), timeout=60)
        assert line, f"the watch ended first: {seen}"
        seen.append(line.decode())
    run_id = re.search(r"triggered run (exec_\w+)", (await watcher.stderr.readline()).decode())
    assert run_id, seen
    approved = await ferryman(
        "approve", run_id.group(1), "approve", "--payload", '{"by": "cli"}', env=env
    )
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.startswith(f"delivered approve to run {run_id.group(1)}")
    rest, _ = await asyncio.wait_for(watcher.communicate(), timeout=60)
    assert watcher.returncode == 0, rest
    assert "result: Hi Ada, by cli" in rest.decode()

    unknown = await ferryman("approve", MISSING_RUN, "approve", env=env)
    refused(unknown, "execution not found", "execution_not_found")
    closed = await ferryman("approve", run_id.group(1), "approve", env=env)
    assert closed.returncode == 3 and "(execution_closed)" in closed.stderr
    bad = await ferryman("approve", run_id.group(1), "approve", "--payload", "{", env=env)
    assert bad.returncode == 2 and "not valid JSON" in bad.stderr


async def test_runs_commands_list_read_follow_and_control(
    env: dict[str, str], module_api_process: ApiProcess
) -> None:
    job = job_id("runs")
    await api_post(module_api_process, approval_job(job))
    started = await ferryman("run", job, "-p", '{"name": "Bo"}', "-o", "json", env=env)
    run_id = json.loads(started.stdout)["id"]

    async def status() -> str:
        read = await ferryman("runs", "get", run_id, "-o", "json", env=env)
        return str(json.loads(read.stdout)["status"])

    await eventually(status, lambda s: s == "waiting")
    listed = await ferryman(
        "runs", "list", "--job", job, "--status", "waiting", "-o", "json", env=env
    )
    assert [row["id"] for row in json.loads(listed.stdout)] == [run_id]
    table = await ferryman("runs", "list", "--job", job, env=env)
    assert run_id in table.stdout and "waiting" in table.stdout
    none = await ferryman("runs", "list", "--job", job, "--status", "failed", "-o", "json", env=env)
    assert json.loads(none.stdout) == []
    fields = await ferryman("runs", "get", run_id, env=env)
    assert re.search(rf"id\s+{run_id}", fields.stdout) and re.search(
        r"status\s+waiting", fields.stdout
    )
    events = await ferryman("runs", "events", run_id, env=env)
    assert "execution.started" in events.stdout and "step.started" in events.stdout

    canceled = await ferryman("runs", "cancel", run_id, env=env)
    assert canceled.returncode == 0 and canceled.stdout.startswith(f"run {run_id}")
    await eventually(status, lambda s: s == "canceled")
    followed = await ferryman("runs", "events", run_id, "--follow", "-o", "json", env=env)
    types = [json.loads(line)["type"] for line in followed.stdout.splitlines()]
    assert types[0] == "execution.started" and types[-1] == "execution.cancelled"
    watched = await ferryman("runs", "watch", run_id, env=env)
    assert watched.returncode == 1 and re.search(rf"run {run_id} canceled", watched.stdout)
    replayed = await ferryman("runs", "replay", run_id, "-o", "json", env=env)
    assert json.loads(replayed.stdout)["continuation_of"] == run_id
    await ferryman("runs", "cancel", json.loads(replayed.stdout)["id"], env=env)

    for args in (
        ["runs", "get", MISSING_RUN],
        ["runs", "watch", MISSING_RUN],
        ["runs", "cancel", MISSING_RUN],
        ["runs", "replay", MISSING_RUN],
        ["runs", "events", MISSING_RUN],
        ["runs", "events", MISSING_RUN, "--follow"],
    ):
        refused(await ferryman(*args, env=env), "execution not found", "execution_not_found")
    sideways = await ferryman("runs", "list", "--status", "sideways", env=env)
    assert sideways.returncode == 3 and "(invalid_filter)" in sideways.stderr
    as_json = await ferryman("runs", "get", MISSING_RUN, "-o", "json", env=env)
    error = json.loads(as_json.stderr)
    assert (error["code"], error["status"], error["error"]) == (
        "execution_not_found",
        404,
        "execution not found",
    )


async def test_dlq_commands_list_and_redrive(
    env: dict[str, str], module_api_process: ApiProcess, tmp_path: Path
) -> None:
    job = job_id("dlq")
    marker = tmp_path / "fixed"
    await api_post(module_api_process, parked_job(job, marker))
    started = await ferryman("run", job, "--watch", env=env)
    assert started.returncode == 1 and "dead_letter" in started.stdout
    run_id = re.findall(r"run (exec_\w+) dead_letter", started.stdout)[0]
    listed = await ferryman("dlq", "list", "--job", job, "-o", "json", env=env)
    assert [row["id"] for row in json.loads(listed.stdout)] == [run_id]
    marker.touch()
    redriven = await ferryman("dlq", "redrive", run_id, env=env)
    assert redriven.returncode == 0 and run_id in redriven.stdout
    watched = await ferryman("runs", "watch", run_id, env=env)
    assert watched.returncode == 0, watched.stdout
    assert (
        json.loads((await ferryman("dlq", "list", "--job", job, "-o", "json", env=env)).stdout)
        == []
    )

    again = await ferryman("dlq", "redrive", run_id, env=env)
    assert again.returncode == 3 and "(run_not_dead_lettered)" in again.stderr
    refused(
        await ferryman("dlq", "redrive", MISSING_RUN, env=env),
        "execution not found",
        "execution_not_found",
    )
    nothing = await ferryman("dlq", "redrive", env=env)
    assert nothing.returncode == 2 and "pass --all" in nothing.stderr
    everything = await ferryman("dlq", "redrive", "--all", "--job", job, "-o", "json", env=env)
    assert everything.returncode == 0 and json.loads(everything.stdout) == []


async def test_schedules_commands(env: dict[str, str], module_api_process: ApiProcess) -> None:
    job = job_id("cron")
    await api_post(module_api_process, quick_job(job))
    created = await ferryman(
        "schedules", "create", job, "@every 1h", "-p", '{"value": 1}', "-o", "json", env=env
    )
    assert created.returncode == 0, created.stderr
    schedule = json.loads(created.stdout)
    assert (schedule["job_id"], schedule["paused"]) == (job, False)
    listed = await ferryman("schedules", "list", env=env)
    assert schedule["id"] in listed.stdout and "@every 1h" in listed.stdout
    paused = await ferryman("schedules", "pause", schedule["id"], "-o", "json", env=env)
    assert json.loads(paused.stdout)["paused"] is True
    unpaused = await ferryman("schedules", "unpause", schedule["id"], env=env)
    assert unpaused.returncode == 0 and schedule["id"] in unpaused.stdout

    unknown = await ferryman("schedules", "create", "no-such-job", "@daily", env=env)
    refused(unknown, "workflow 'no-such-job' not found", "workflow_not_found")
    for verb in ("pause", "unpause"):
        missing = await ferryman("schedules", verb, "sched_nope", env=env)
        assert missing.returncode == 3 and "(schedule_not_found)" in missing.stderr
    bad_cron = await ferryman("schedules", "create", job, "every tuesday", env=env)
    assert bad_cron.returncode == 3 and "(validation_error)" in bad_cron.stderr, bad_cron.stderr


async def test_the_api_is_found_from_flags_then_environment_then_data_dir(
    module_api_process: ApiProcess, tmp_path: Path
) -> None:
    api = module_api_process
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    bare = cli_env(FERRYMAN_DATA_DIR=str(data_dir))

    lost = await ferryman("jobs", "list", env=bare)
    assert lost.returncode == 2 and "no API to talk to" in lost.stderr
    assert "FERRYMAN_API_URL" in lost.stderr and "Traceback" not in lost.stderr

    # What `ferryman up` writes: the data dir alone is enough.
    (data_dir / "api-url").write_text(api.url + "\n")
    (data_dir / "dev-api-key").write_text(api.key + "\n")
    assert (await ferryman("jobs", "list", env=bare)).returncode == 0
    elsewhere = cli_env(FERRYMAN_DATA_DIR=str(tmp_path / "other"))
    assert (
        await ferryman("jobs", "list", "--data-dir", str(data_dir), env=elsewhere)
    ).returncode == 0

    # The environment wins over the data dir, and the flags over both.
    nowhere = f"http://127.0.0.1:{free_port()}"
    misled = {**bare, "FERRYMAN_API_URL": nowhere, "FERRYMAN_API_KEY": "fm_wrong"}
    unreachable = await ferryman("jobs", "list", env=misled)
    assert unreachable.returncode == 3 and "(unreachable)" in unreachable.stderr
    assert nowhere in unreachable.stderr
    denied = await ferryman("jobs", "list", "--api-url", api.url, env=misled)
    assert denied.returncode == 3 and "(invalid_api_key)" in denied.stderr
    flagged = await ferryman("jobs", "list", "--api-url", api.url, "--api-key", api.key, env=misled)
    assert flagged.returncode == 0, flagged.stderr


async def api_post(api: ApiProcess, definition: dict[str, Any]) -> None:
    """Register a job with the API directly (what the commands act on)."""
    async with httpx.AsyncClient(base_url=api.url, headers=api.headers) as http:
        created = await http.post("/v1/jobs", json=definition)
        assert created.status_code == 201, created.text
