"""Debug mode switched on while a run runs, the debug bundle, and `ferryman debug replay`."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from tests.support.api import Api
from tests.support.paths import ROOT
from tests.support.polling import eventually
from tests.support.processes import cli_env


def debugged(identifier: str) -> dict[str, Any]:
    return {
        "id": identifier,
        "name": "Debugged",
        "steps": [
            {"id": "before", "kind": "activity", "activity": "test.echo", "with": {"n": 1}},
            {"id": "gate", "kind": "wait", "depends_on": ["before"], "with": {"signal": "go"}},
            {
                "id": "after",
                "kind": "activity",
                "activity": "test.echo",
                "depends_on": ["gate"],
                "with": {"n": "{{ input.n + 1 }}", "secret": "{{ secrets.NOT_SET_HERE }}"},
            },
            {
                "id": "shaped",
                "kind": "transform",
                "depends_on": ["after"],
                "with": {"value": {"doubled": "{{ steps.after.output.n * 2 }}"}},
            },
        ],
        "output": "{{ steps.shaped.output }}",
    }


async def run_of(api: Api, run_id: str) -> dict[str, Any]:
    return dict((await api.http.get(f"/v1/runs/{run_id}", headers=api.admin)).json())


async def events(api: Api, run_id: str) -> list[dict[str, Any]]:
    response = await api.http.get(
        f"/v1/runs/{run_id}/events", params={"limit": 1000}, headers=api.admin
    )
    return list(response.json())


def replay(bundle: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ferryman", "debug", "replay", str(bundle)],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_debug_mode_switched_on_mid_run_shows_later_inputs_and_outputs(
    api: Api, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("FERRYMAN_SECRET_NOT_SET_HERE", "hush-123")
    job = f"dbg-{uuid.uuid4().hex[:8]}"
    await api.create_workflow(debugged(job))
    response = await api.http.post(
        f"/v1/jobs/{job}/trigger", json={"payload": {"n": 4}}, headers=api.admin
    )
    run_id = response.json()["id"]
    await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "waiting")
    switched = await api.http.post(
        f"/v1/runs/{run_id}/debug", json={"enabled": True}, headers=api.admin
    )
    assert switched.json() == {"run_id": run_id, "debug_mode": True}
    await eventually(lambda: run_of(api, run_id), lambda r: r["debug_mode"] is True)
    await api.http.post(
        f"/api/v1/executions/{run_id}/signal", json={"name": "go"}, headers=api.admin
    )
    done = await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "completed")
    assert done["result"] == {"doubled": 10}
    found = await events(api, run_id)
    started = {e["data"]["step_id"]: e["data"] for e in found if e["type"] == "step.started"}
    completed = {e["data"]["step_id"]: e["data"] for e in found if e["type"] == "step.completed"}
    # Before the switch: neither input nor output; after it: both.
    assert "input" not in started["before"] and "output" not in completed["before"]
    assert started["after"]["input"]["n"] == 5
    assert started["after"]["input"]["secret"] == "${{secret:NOT_SET_HERE}}"  # never the value
    assert completed["after"]["output"]["n"] == 5
    assert completed["shaped"]["input"] == {"value": {"doubled": 10}}
    assert completed["shaped"]["output"] == {"doubled": 10}
    assert any(e["type"] == "run.debug" and e["data"] == {"enabled": True} for e in found)
    assert "hush-123" not in json.dumps(found)

    bundle = await api.http.get(f"/v1/runs/{run_id}/debug-bundle", headers=api.admin)
    assert bundle.status_code == 200
    document = bundle.json()
    assert set(document) == {
        "run", "events", "checkpoints", "usage", "tool_calls", "outputs", "history"
    }  # fmt: skip
    assert document["run"]["id"] == run_id and document["events"] == found
    assert [c["source"] for c in document["checkpoints"]] == [
        "start", "before", "gate", "after", "shaped"
    ]  # fmt: skip
    assert document["history"]["events"][0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"
    path = tmp_path / "bundle.json"
    path.write_text(bundle.text)
    replayed = await asyncio.to_thread(replay, path)
    assert replayed.returncode == 0, replayed.stderr
    assert "replays" in replayed.stdout

    # A history the installed code would decide differently: the first divergence is named.
    diverging = json.loads(bundle.text)
    scheduled = [
        e
        for e in diverging["history"]["events"]
        if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
    ]
    scheduled[0]["activityTaskScheduledEventAttributes"]["activityType"]["name"] = "other.thing"
    path.write_text(json.dumps(diverging))
    refused = await asyncio.to_thread(replay, path)
    assert refused.returncode == 1, refused.stdout
    assert "diverges" in refused.stderr and "other.thing" in refused.stderr
    path.write_text("{}")
    broken = await asyncio.to_thread(replay, path)
    assert broken.returncode == 2 and "not a debug bundle" in broken.stderr


async def test_debug_mode_at_trigger_and_off_again(api: Api, monkeypatch: Any) -> None:
    monkeypatch.setenv("FERRYMAN_SECRET_NOT_SET_HERE", "hush-123")
    job = f"dbg-{uuid.uuid4().hex[:8]}"
    await api.create_workflow(debugged(job))
    response = await api.http.post(
        f"/v1/jobs/{job}/trigger",
        json={"payload": {"n": 1}, "debug_mode": True},
        headers=api.admin,
    )
    run_id = response.json()["id"]
    assert response.json()["debug_mode"] is True
    await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "waiting")
    off = await api.http.post(
        f"/v1/runs/{run_id}/debug", json={"enabled": False}, headers=api.admin
    )
    assert off.status_code == 200
    await eventually(lambda: run_of(api, run_id), lambda r: r["debug_mode"] is False)
    await api.http.post(
        f"/api/v1/executions/{run_id}/signal", json={"name": "go"}, headers=api.admin
    )
    await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "completed")
    found = await events(api, run_id)
    started = {e["data"]["step_id"]: e["data"] for e in found if e["type"] == "step.started"}
    assert started["before"]["input"] == {"n": 1}  # on from the trigger
    assert "input" not in started["after"]  # off again before it ran
    closed = await api.http.post(
        f"/v1/runs/{run_id}/debug", json={"enabled": True}, headers=api.admin
    )
    assert closed.status_code == 409 and closed.json()["code"] == "execution_closed"
