"""Checkpoints, replay and rollback over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.support.activities import CALLS
from tests.support.api import Api
from tests.support.polling import eventually

STEPS = ["s1", "s2", "s3", "s4", "s5"]


def five_steps(workflow_id: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    for n, step_id in enumerate(STEPS):
        step: dict[str, Any] = {
            "id": step_id,
            "kind": "activity",
            "activity": "test.flaky",
            "with": {"value": n},
        }
        if n:
            step["depends_on"] = [STEPS[n - 1]]
        steps.append(step)
    return {"id": workflow_id, "name": "Five", "steps": steps, "output": "{{ steps.s5.output }}"}


async def finished(api: Api, execution_id: str, status: str = "completed") -> dict[str, Any]:
    return await eventually(
        lambda: api.execution(execution_id, include_step_results="true"),
        lambda e: e["status"] == status,
    )


async def events(api: Api, execution_id: str, after: int = 0) -> list[dict[str, Any]]:
    response = await api.http.get(
        f"/api/v1/executions/{execution_id}/events",
        params={"after": after, "limit": 1000},
        headers=api.admin,
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def calls(execution_id: str) -> list[int]:
    return [CALLS[f"{execution_id}:{step}"] for step in STEPS]


async def test_checkpoints_list_and_state(api: Api) -> None:
    workflow_id = f"ck-{uuid.uuid4().hex[:8]}"
    await api.create_workflow(five_steps(workflow_id))
    execution_id = await api.run(workflow_id)
    await finished(api, execution_id)
    listed = await api.http.get(f"/api/v1/executions/{execution_id}/checkpoints", headers=api.admin)
    items = listed.json()["items"]
    assert [c["name"] for c in items] == ["start", *STEPS]
    third = await api.http.get(
        f"/api/v1/executions/{execution_id}/checkpoints/{items[3]['id']}", headers=api.admin
    )
    assert third.status_code == 200
    state = third.json()["state"]
    assert sorted(state["outputs"]) == ["s1", "s2", "s3"]
    assert state["outputs"]["s3"] == {"value": 2, "attempt": 1}
    assert state["steps"] == {"s1": "completed", "s2": "completed", "s3": "completed"}
    for bad in (f"chk_{execution_id}_99", "chk_other_1", "nonsense", f"chk_{execution_id}_x"):
        missing = await api.http.get(
            f"/api/v1/executions/{execution_id}/checkpoints/{bad}", headers=api.admin
        )
        assert missing.status_code == 404, bad


async def test_replay_from_a_checkpoint_skips_completed_steps(api: Api) -> None:
    workflow_id = f"rp-{uuid.uuid4().hex[:8]}"
    await api.create_workflow(five_steps(workflow_id))
    source = await api.run(workflow_id)
    done = await finished(api, source)
    third = done["checkpoints"][3]
    assert third["name"] == "s3"
    response = await api.http.post(
        f"/api/v1/executions/{source}/replay",
        json={"checkpoint_id": third["id"]},
        headers=api.admin,
    )
    assert response.status_code == 201, response.text
    replay = response.json()["id"]
    assert replay != source
    replayed = await finished(api, replay)
    assert calls(replay) == [0, 0, 0, 1, 1]
    assert (replayed["continuation_of"], replayed["lineage_depth"]) == (source, 1)
    assert replayed["output"] == done["output"]
    assert [s["status"] for s in replayed["steps"]] == ["completed"] * 5
    # The steps carried over from the source show the outputs the replay used.
    assert [s["result"] for s in replayed["steps"]] == [s["result"] for s in done["steps"]]
    assert replayed["step_outputs"]["s1"]["output"] == {"value": 0, "attempt": 1}
    marker = next(c for c in replayed["checkpoints"] if c["name"] == "replay")
    state = await api.http.get(
        f"/api/v1/executions/{replay}/checkpoints/{marker['id']}", headers=api.admin
    )
    assert state.json()["state"]["outputs"]["s3"] == {"value": 2, "attempt": 1}
    from_start = await api.http.post(f"/api/v1/executions/{source}/replay", headers=api.admin)
    again = from_start.json()["id"]
    await finished(api, again)
    assert calls(again) == [1, 1, 1, 1, 1]


async def test_rollback_of_a_completed_execution_keeps_its_id(api: Api) -> None:
    workflow_id = f"rb-{uuid.uuid4().hex[:8]}"
    await api.create_workflow(five_steps(workflow_id))
    execution_id = await api.run(workflow_id)
    done = await finished(api, execution_id)
    before = await events(api, execution_id)
    second = done["checkpoints"][2]
    rolled = await api.http.post(
        f"/api/v1/executions/{execution_id}/rollback",
        json={"checkpoint_id": second["id"]},
        headers=api.admin,
    )
    assert rolled.status_code == 200, rolled.text
    assert rolled.json() == {"execution_id": execution_id, "status": "paused"}
    paused = await eventually(
        lambda: api.execution(execution_id, include_step_results="true"),
        lambda e: e["status"] == "paused" and e["checkpoints"][-1]["name"] == "rollback",
    )
    sequences = [c["sequence"] for c in paused["checkpoints"]]
    assert sequences[:3] == [0, 1, 2] and sequences[-1] == 6  # 3-5 discarded, never reused
    assert [s["status"] for s in paused["steps"]] == ["completed"] * 2 + ["pending"] * 3
    await api.http.post(f"/api/v1/executions/{execution_id}/resume", headers=api.admin)
    again = await finished(api, execution_id)
    assert calls(execution_id) == [1, 1, 2, 2, 2]
    assert again["output"] == done["output"]
    # Event ids only grow over the execution's whole life, across the new run.
    last_seen = max(e["id"] for e in before)
    after = await events(api, execution_id)
    assert min(e["id"] for e in after) > last_seen
    since = await events(api, execution_id, after=last_seen)
    assert [e["type"] for e in since][-1] == "execution.completed"
    assert min(c["sequence"] for c in again["checkpoints"][-3:]) > 6
    # Lists follow visibility, which may lag the read of the run by a moment.
    listed = await eventually(
        lambda: api.http.get(
            "/api/v1/executions", params={"workflow_id": workflow_id}, headers=api.admin
        ),
        lambda answer: [row["status"] for row in answer.json()["items"]] == ["completed"],
    )
    assert [row["id"] for row in listed.json()["items"]] == [execution_id]
    # The superseded run is deleted; Temporal does that asynchronously, then counts agree.
    await eventually(
        lambda: api.http.get(
            "/api/v1/executions", params={"workflow_id": workflow_id}, headers=api.admin
        ),
        lambda r: r.json()["total"] == 1,
        timeout=90,
    )


async def test_rollback_of_a_running_execution_happens_in_place(api: Api) -> None:
    workflow_id = f"rr-{uuid.uuid4().hex[:8]}"
    await api.create_workflow(
        {
            "id": workflow_id,
            "name": "Gate",
            "steps": [
                {"id": "s1", "kind": "activity", "activity": "test.flaky", "with": {"value": 1}},
                {"id": "gate", "kind": "wait", "depends_on": ["s1"], "with": {"signal": "go"}},
            ],
            "output": "{{ steps.gate.output }}",
        }
    )
    execution_id = await api.run(workflow_id)
    waiting = await finished(api, execution_id, "waiting")
    start = waiting["checkpoints"][0]["id"]
    rolled = await api.http.post(
        f"/api/v1/executions/{execution_id}/rollback",
        json={"checkpoint_id": start},
        headers=api.admin,
    )
    assert rolled.json()["status"] == "paused"
    paused = await eventually(
        lambda: api.execution(execution_id, include_step_results="true"),
        lambda e: e["status"] == "paused" and e["checkpoints"][-1]["name"] == "rollback",
    )
    assert [s["status"] for s in paused["steps"]] == ["pending", "pending"]
    await api.http.post(f"/api/v1/executions/{execution_id}/resume", headers=api.admin)
    await finished(api, execution_id, "waiting")
    await api.http.post(
        f"/api/v1/executions/{execution_id}/signal",
        json={"name": "go", "payload": "ok"},
        headers=api.admin,
    )
    done = await finished(api, execution_id)
    assert done["output"] == "ok"
    assert CALLS[f"{execution_id}:s1"] == 2


async def test_replay_and_rollback_unhappy_paths(api: Api) -> None:
    workflow_id = f"ru-{uuid.uuid4().hex[:8]}"
    await api.create_workflow(five_steps(workflow_id))
    execution_id = await api.run(workflow_id)
    await finished(api, execution_id)
    base = f"/api/v1/executions/{execution_id}"
    no_id = await api.http.post(f"{base}/rollback", json={}, headers=api.admin)
    assert no_id.status_code == 422 and "checkpoint_id" in no_id.json()["error"]
    for checkpoint_id in (f"chk_{execution_id}_77", "chk_x_1", "garbage"):
        for action in ("rollback", "replay"):
            response = await api.http.post(
                f"{base}/{action}", json={"checkpoint_id": checkpoint_id}, headers=api.admin
            )
            assert response.status_code == 404, (action, checkpoint_id)
    other = await api.key_for(project=f"other-{uuid.uuid4().hex[:6]}")
    for action in ("rollback", "replay"):
        response = await api.http.post(
            f"{base}/{action}", json={"checkpoint_id": f"chk_{execution_id}_1"}, headers=other
        )
        assert response.status_code == 404
    reader = await api.key_for(scopes=["executions:read"])
    forbidden = await api.http.post(f"{base}/replay", headers=reader)
    assert forbidden.status_code == 403
    assert (await api.http.get(f"{base}/checkpoints", headers=other)).status_code == 404


async def test_checkpoints_of_a_finished_execution_need_no_worker(api: Api) -> None:
    """Run on a worker of its own, stop that worker, then read everything from history."""
    import asyncio

    from ferryman.api.executions.ids import new_execution_id
    from ferryman.worker import build_worker
    from tests.support.executions import start_execution

    resources = api.app.state.resources
    settings = resources.settings.model_copy(update={"task_queue": f"solo-{uuid.uuid4().hex}"})
    solo = build_worker(resources.client, settings, resources.sessions)
    running = asyncio.create_task(solo.run())
    execution_id = new_execution_id()
    await start_execution(
        resources.client,
        settings,
        five_steps("solo"),
        execution_id=execution_id,
        project_id="default",
        workflow_id="solo",
    )
    await finished(api, execution_id)
    await solo.shutdown()
    await running
    listed = await api.http.get(f"/api/v1/executions/{execution_id}/checkpoints", headers=api.admin)
    last = listed.json()["items"][-1]
    state = await api.http.get(
        f"/api/v1/executions/{execution_id}/checkpoints/{last['id']}", headers=api.admin
    )
    assert state.status_code == 200
    assert sorted(state.json()["state"]["outputs"]) == STEPS
    done = await api.execution(execution_id, include_step_results="true")
    assert [s["status"] for s in done["steps"]] == ["completed"] * 5


async def test_large_checkpoints_of_one_workflow_task_are_all_kept(
    api: Api, temporal_client: Client
) -> None:
    """Six transforms of 100 KB each finish in one workflow task; their checkpoints are
    written in as many memo upserts as keep each within the bound, all of them kept."""
    workflow_id = f"big-{uuid.uuid4().hex[:8]}"
    steps = [
        {
            "id": f"s{n}",
            "kind": "transform",
            "depends_on": [f"s{n - 1}"] if n else [],
            "with": {"value": "{{ '" + str(n) + "' * 100000 }}"},
        }
        for n in range(6)
    ]
    await api.create_workflow({"id": workflow_id, "name": "Big", "steps": steps})
    execution_id = await api.run(workflow_id)
    await finished(api, execution_id)
    listed = await api.http.get(f"/api/v1/executions/{execution_id}/checkpoints", headers=api.admin)
    items = listed.json()["items"]
    assert [c["name"] for c in items] == ["start", *(f"s{n}" for n in range(6))]
    last = await api.http.get(
        f"/api/v1/executions/{execution_id}/checkpoints/{items[-1]['id']}", headers=api.admin
    )
    assert last.json()["state"]["outputs"]["s5"] == "5" * 100000
    handle = temporal_client.get_workflow_handle(execution_id)
    upserts = [
        e
        async for e in handle.fetch_history_events()
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED
    ]
    assert 1 < len(upserts) <= 4, len(upserts)  # bounded, not one per step
