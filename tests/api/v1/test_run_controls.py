"""One run's controls over `/v1`: cancel, replay, restart, pause, resume, state, lineage,
children, dependency status, events, checkpoints and the SSE stream; and the bulk calls."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.api import Api
from tests.support.polling import eventually


def job_id() -> str:
    return f"ctl-{uuid.uuid4().hex[:8]}"


def gated(identifier: str) -> dict[str, Any]:
    return {
        "id": identifier,
        "name": "Gated",
        "presets": {"big": {"n": 100, "label": "preset"}},
        "steps": [
            {"id": "double", "kind": "transform", "with": {"value": "{{ input.n * 2 }}"}},
            {"id": "gate", "kind": "wait", "depends_on": ["double"], "with": {"signal": "go"}},
        ],
        "output": {"double": "{{ steps.double.output }}", "gate": "{{ steps.gate.output }}"},
    }


async def run_of(api: Api, run_id: str) -> dict[str, Any]:
    response = await api.http.get(f"/v1/runs/{run_id}", headers=api.admin)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def trigger(api: Api, job: str, payload: dict[str, Any]) -> str:
    response = await api.http.post(
        f"/v1/jobs/{job}/trigger", json={"payload": payload}, headers=api.admin
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def release(api: Api, run_id: str, payload: Any = "ok") -> None:
    await api.http.post(
        f"/api/v1/executions/{run_id}/signal",
        json={"name": "go", "payload": payload},
        headers=api.admin,
    )


async def waiting(api: Api, run_id: str) -> dict[str, Any]:
    return await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "waiting")


async def test_pause_resume_state_and_cancel(api: Api) -> None:
    job = job_id()
    await api.create_workflow(gated(job))
    run_id = await trigger(api, job, {"n": 2})
    await waiting(api, run_id)
    live = (await api.http.get(f"/v1/runs/{run_id}/state", headers=api.admin)).json()
    assert live["source"] == "query" and live["status"] == "waiting"
    assert live["steps"]["double"]["status"] == "completed" and live["outputs"]["double"] == 4
    assert live["steps"]["gate"]["status"] == "waiting"
    # Each answer is the state after the change, and the very next call sees it: no waits.
    paused = await api.http.post(f"/v1/runs/{run_id}/pause", headers=api.admin)
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert paused.json()["id"] == run_id
    assert (await run_of(api, run_id))["status"] == "paused"
    again = await api.http.post(f"/v1/runs/{run_id}/pause", headers=api.admin)
    assert again.status_code == 409 and again.json()["code"] == "execution_paused"
    resumed = await api.http.post(f"/v1/runs/{run_id}/resume", headers=api.admin)
    assert resumed.status_code == 200 and resumed.json()["status"] == "waiting"  # on its gate
    not_paused = await api.http.post(f"/v1/runs/{run_id}/resume", headers=api.admin)
    assert not_paused.status_code == 409 and not_paused.json()["code"] == "execution_not_paused"
    assert not_paused.json()["error"] == "the run is waiting; only a paused one can resume"
    canceled = await api.http.delete(f"/v1/runs/{run_id}", headers=api.admin)
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert (await run_of(api, run_id))["status"] == "canceled"
    closed = await api.http.delete(f"/v1/runs/{run_id}", headers=api.admin)
    assert closed.status_code == 400 and closed.json()["code"] == "execution_finished"
    assert closed.json()["error"] == "the run was canceled; it cannot be stopped"
    await eventually(lambda: run_of(api, run_id), lambda r: r["finished_at"] is not None)
    folded = (await api.http.get(f"/v1/runs/{run_id}/state", headers=api.admin)).json()
    assert folded["source"] == "history" and folded["outputs"] == {"double": 4}


async def test_replay_restart_and_the_lineage_of_a_chain(api: Api) -> None:
    job = job_id()
    await api.create_workflow(gated(job))
    source = await trigger(api, job, {"n": 3})
    await waiting(api, source)
    # API.md: a finished run is replayed; an open one is refused, naming its status.
    early = await api.http.post(f"/v1/runs/{source}/replay", headers=api.admin)
    assert (early.status_code, early.json()["code"]) == (409, "run_not_finished")
    assert early.json()["error"] == "the run is waiting; only a finished run can be replayed"
    await release(api, source)
    await eventually(lambda: run_of(api, source), lambda r: r["status"] == "completed")
    replayed = await api.http.post(f"/v1/runs/{source}/replay", headers=api.admin)
    assert replayed.status_code == 201, replayed.text
    replay = replayed.json()
    assert (replay["continuation_of"], replay["lineage_depth"]) == (source, 1)
    assert replay["triggered_by"] == "retry" and replay["payload"] == {"n": 3}
    restarted = await api.http.post(
        f"/v1/runs/{replay['id']}/restart", json={"payload": {"n": 5}}, headers=api.admin
    )
    restart = restarted.json()
    assert restarted.status_code == 201 and restart["payload"] == {"n": 5}
    assert (restart["continuation_of"], restart["lineage_depth"]) == (replay["id"], 2)
    preset = await api.http.post(
        f"/v1/runs/{source}/restart",
        json={"preset": "big", "payload": {"label": "mine"}},
        headers=api.admin,
    )
    assert preset.json()["payload"] == {"n": 100, "label": "mine"}
    unknown = await api.http.post(
        f"/v1/runs/{source}/restart", json={"preset": "nope"}, headers=api.admin
    )
    assert unknown.status_code == 422 and "big" in unknown.json()["error"]
    for run_id in (replay["id"], restart["id"], preset.json()["id"]):
        await waiting(api, run_id)
        await release(api, run_id)
    done = await eventually(
        lambda: run_of(api, restart["id"]), lambda r: r["status"] == "completed"
    )
    assert done["result"] == {"double": 10, "gate": "ok"}
    expected = [source, replay["id"], restart["id"]]
    for member in expected:  # the same chain, asked from any member
        chain = (await api.http.get(f"/v1/runs/{member}/lineage", headers=api.admin)).json()
        ids = [r["id"] for r in chain]
        assert ids[:2] == [source] + ([replay["id"]] if member != source else ids[1:2])
        assert set(expected) <= set(ids)
    children = await api.http.get(f"/v1/runs/{source}/children", headers=api.admin)
    assert children.json() == []
    dependencies = (
        await api.http.get(f"/v1/runs/{source}/dependency-status", headers=api.admin)
    ).json()
    assert dependencies == {
        "run_id": source,
        "job_id": job,
        "status": "completed",
        "dependencies": [],
        "dependencies_satisfied": True,
    }


async def test_events_checkpoints_and_the_stream(api: Api) -> None:
    job = job_id()
    await api.create_workflow(gated(job))
    run_id = await trigger(api, job, {"n": 1})
    await waiting(api, run_id)
    await release(api, run_id, {"by": "ada"})
    await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "completed")
    events = (await api.http.get(f"/v1/runs/{run_id}/events", headers=api.admin)).json()
    assert {e["run_id"] for e in events} == {run_id}
    types = [e["type"] for e in events]
    assert types[0] == "execution.started" and types[-1] == "execution.completed"
    assert "signal.received" in types and "step.started" in types
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(ids)
    later = await api.http.get(
        f"/v1/runs/{run_id}/events", params={"after": ids[2]}, headers=api.admin
    )
    assert [int(e["id"]) for e in later.json()] == ids[3:]
    checkpoints = (await api.http.get(f"/v1/runs/{run_id}/checkpoints", headers=api.admin)).json()
    assert [c["source"] for c in checkpoints] == ["start", "double", "gate"]
    assert [c["sequence"] for c in checkpoints] == [0, 1, 2]
    assert checkpoints[-1]["state"]["outputs"] == {"double": 2, "gate": {"by": "ada"}}
    assert all(c["run_id"] == run_id for c in checkpoints)
    stream = await api.http.get(
        f"/v1/runs/{run_id}/stream", headers={**api.admin, "Last-Event-ID": str(ids[-3])}
    )
    streamed = [
        line.removeprefix("id: ") for line in stream.text.splitlines() if line.startswith("id: ")
    ]
    assert [int(i) for i in streamed] == ids[-2:]


async def test_bulk_calls_answer_each_run_and_never_reach_another_project(api: Api) -> None:
    job = job_id()
    await api.create_workflow(gated(job))
    mine = [await trigger(api, job, {"n": n}) for n in range(3)]
    stranger = await api.key_for(project=f"other-{uuid.uuid4().hex[:6]}", scopes=["admin"])
    await api.http.post("/v1/jobs", json=gated(job), headers=stranger)
    theirs = (
        await api.http.post(f"/v1/jobs/{job}/trigger", json={"payload": {"n": 9}}, headers=stranger)
    ).json()["id"]
    for run_id in mine:
        await waiting(api, run_id)
    canceled = await api.http.post(
        "/v1/runs/bulk-cancel",
        json={"run_ids": [mine[0], theirs, "exec_00000000000000000000000000"]},
        headers=api.admin,
    )
    result = canceled.json()
    assert (result["total"], result["canceled"], result["failed"]) == (3, 1, 2)
    by_id = {item["id"]: item for item in result["results"]}
    assert by_id[mine[0]]["status"] == "canceled" and by_id[mine[0]]["error"] is None
    assert by_id[theirs]["status"] == "error" and "not found" in by_id[theirs]["error"]
    still = await api.http.get(f"/v1/runs/{theirs}", headers=stranger)
    assert still.json()["status"] in ("queued", "dequeued", "executing", "waiting")
    too_many = await api.http.post(
        "/v1/runs/bulk-cancel", json={"run_ids": [mine[0]] * 101}, headers=api.admin
    )
    assert too_many.status_code == 422
    by_filter = await api.http.post(
        "/v1/runs/bulk-cancel-all",
        params={"job_id": job, "payload": '{"n": 2}'},
        headers=api.admin,
    )
    assert [item["id"] for item in by_filter.json()["results"]] == [mine[2]]
    await eventually(lambda: run_of(api, mine[2]), lambda r: r["status"] == "canceled")
    assert (await run_of(api, mine[1]))["status"] == "waiting"  # not named by the filter
    assert (await api.http.get(f"/v1/runs/{theirs}", headers=stranger)).json()["status"] != (
        "canceled"
    )


async def finished(api: Api, job: str, n: int) -> str:
    run_id = await trigger(api, job, {"n": n})
    await waiting(api, run_id)
    await release(api, run_id)
    await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "completed")
    return run_id


async def continuations(api: Api, run_id: str) -> list[str]:
    chain = (await api.http.get(f"/v1/runs/{run_id}/lineage", headers=api.admin)).json()
    return [r["id"] for r in chain if r["continuation_of"] == run_id]


async def test_bulk_replay_answers_the_new_runs_in_order_or_refuses_the_whole_call(
    api: Api,
) -> None:
    job, other = job_id(), job_id()
    await api.create_workflow(gated(job))
    await api.create_workflow(gated(other))
    first, second = await finished(api, job, 1), await finished(api, job, 2)
    of_disabled = await finished(api, other, 3)
    await api.http.post(f"/api/v1/workflows/{other}/disable", headers=api.admin)
    still_open = await trigger(api, job, {"n": 4})
    await waiting(api, still_open)
    stranger = await api.key_for(project=f"other-{uuid.uuid4().hex[:6]}", scopes=["admin"])
    await api.http.post("/v1/jobs", json=gated(job), headers=stranger)
    theirs = (
        await api.http.post(f"/v1/jobs/{job}/trigger", json={"payload": {"n": 9}}, headers=stranger)
    ).json()["id"]
    unknown = "exec_00000000000000000000000000"

    bad = [still_open, theirs, unknown, of_disabled]
    refused = await api.http.post(
        "/v1/runs/bulk-replay", json={"run_ids": [first, *bad]}, headers=api.admin
    )
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["code"] == "runs_not_replayable"
    assert all(run_id in body["error"] for run_id in bad) and first not in body["error"]
    assert [(d["id"], d["code"]) for d in body["details"]] == [
        (still_open, "run_not_finished"),
        (theirs, "execution_not_found"),
        (unknown, "execution_not_found"),
        (of_disabled, "workflow_disabled"),
    ]
    assert "executing" in body["details"][0]["error"] or "waiting" in body["details"][0]["error"]

    replayed = await api.http.post(
        "/v1/runs/bulk-replay", json={"run_ids": [second, first]}, headers=api.admin
    )
    assert replayed.status_code == 201, replayed.text
    runs = replayed.json()
    assert isinstance(runs, list) and [r["continuation_of"] for r in runs] == [second, first]
    assert all(r["triggered_by"] == "retry" and r["lineage_depth"] == 1 for r in runs)
    assert [r["payload"] for r in runs] == [{"n": 2}, {"n": 1}]
    for run in runs:
        assert run["id"] not in (first, second)
        assert (await run_of(api, run["id"]))["job_id"] == job
    # The refused call started nothing: once the accepted replay of `first` is listed, it
    # is the only run that continues it.
    listed = await eventually(lambda: continuations(api, first), lambda ids: ids != [])
    assert listed == [runs[1]["id"]]


async def test_every_run_route_answers_404_for_an_unknown_run(api: Api) -> None:
    missing = "exec_00000000000000000000000000"
    paths = [
        "", "/events", "/checkpoints", "/state", "/lineage", "/children", "/dependency-status",
        "/usage", "/tool-calls", "/outputs", "/debug-bundle",
    ]  # fmt: skip
    for path in paths:
        response = await api.http.get(f"/v1/runs/{missing}{path}", headers=api.admin)
        assert response.status_code == 404 and response.json()["code"] == "execution_not_found"
    for path in ("/replay", "/restart", "/pause", "/resume", "/dlq-replay"):
        response = await api.http.post(f"/v1/runs/{missing}{path}", headers=api.admin)
        assert response.status_code == 404, path
    assert (await api.http.delete(f"/v1/runs/{missing}", headers=api.admin)).status_code == 404


async def test_ai_records_are_real_empty_lists_for_a_run_without_llm_steps(api: Api) -> None:
    job = job_id()
    await api.create_workflow(gated(job))
    run_id = await trigger(api, job, {"n": 1})
    for path in ("usage", "tool-calls", "outputs"):
        response = await api.http.get(f"/v1/runs/{run_id}/{path}", headers=api.admin)
        assert response.status_code == 200 and response.json() == []
    await waiting(api, run_id)
    await release(api, run_id)
    await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "completed")
    # No `llm` step, no chunk: the stream ends with the run.
    chunks = await api.http.get(f"/v1/runs/{run_id}/stream/chunks", headers=api.admin)
    assert chunks.status_code == 200
    assert [line for line in chunks.text.splitlines() if line.startswith("data:")] == []
