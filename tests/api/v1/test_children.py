"""Child runs: a `workflow` step runs another job as a Temporal child workflow (or starts a
detached run), and `/v1` shows the parent, the spawning step and the trigger."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.api import Api
from tests.support.polling import eventually


def slug(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def create(api: Api, job: str, steps: list[dict[str, Any]], **extra: Any) -> str:
    await api.create_workflow({"id": job, "name": job, "steps": steps, **extra})
    return job


async def double_job(api: Api) -> str:
    return await create(
        api,
        slug("double"),
        [{"id": "twice", "kind": "transform", "with": {"value": "{{ input.n * 2 }}"}}],
        input_schema={
            "type": "object",
            "required": ["n"],
            "properties": {"n": {"type": "integer"}},
        },
        output="{{ steps.twice.output }}",
    )


async def trigger(api: Api, job: str, payload: dict[str, Any]) -> str:
    response = await api.http.post(
        f"/v1/jobs/{job}/trigger", json={"payload": payload, "priority": 3}, headers=api.admin
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def run_of(api: Api, run_id: str) -> dict[str, Any]:
    response = await api.http.get(f"/v1/runs/{run_id}", headers=api.admin)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def children_of(api: Api, run_id: str) -> list[dict[str, Any]]:
    response = await api.http.get(f"/v1/runs/{run_id}/children", headers=api.admin)
    assert response.status_code == 200, response.text
    return list(response.json())


async def finished(api: Api, run_id: str) -> dict[str, Any]:
    return await eventually(lambda: run_of(api, run_id), lambda r: r["finished_at"] is not None)


async def test_a_parent_with_its_child(api: Api) -> None:
    child_job = await double_job(api)
    parent_job = await create(
        api,
        slug("parent"),
        [
            {
                "id": "spawn",
                "kind": "workflow",
                "workflow": child_job,
                "with": {"n": "{{ input.n }}"},
            },
            {
                "id": "plus",
                "kind": "transform",
                "depends_on": ["spawn"],
                "with": {"value": "{{ steps.spawn.output + 1 }}"},
            },
        ],
        output="{{ steps.plus.output }}",
    )
    parent_id = await trigger(api, parent_job, {"n": 21})
    parent = await finished(api, parent_id)
    assert parent["status"] == "completed"
    assert parent["result"] == 43  # the child's output (42) is the step's

    [child] = await children_of(api, parent_id)
    assert child["job_id"] == child_job
    assert child["payload"] == {"n": 21}
    assert child["result"] == 42 and child["status"] == "completed"
    assert child["parent_run_id"] == parent_id
    assert child["workflow_step_run_id"] == f"{parent_id}:spawn:1"
    assert child["triggered_by"] == "spawn"
    assert child["priority"] == 3  # inherited: the child is as urgent as its parent
    assert child["job_version"] == 1
    assert (await run_of(api, child["id"]))["parent_run_id"] == parent_id
    spawned = await api.http.get(
        "/v1/runs", params={"triggered_by": "spawn", "job_id": child_job}, headers=api.admin
    )
    assert [r["id"] for r in spawned.json()] == [child["id"]]
    # The parent's step events name the child it waited on.
    execution = await api.execution(parent_id, include_step_results="true")
    spawn = next(s for s in execution["steps"] if s["step_id"] == "spawn")
    assert spawn["status"] == "completed" and spawn["result"] == 42


async def test_a_failed_child_fails_its_attempt_and_each_retry_spawns_a_new_child(
    api: Api,
) -> None:
    child_job = await create(
        api,
        slug("broken"),
        [
            {
                "id": "boom",
                "kind": "activity",
                "activity": "test.flaky",
                "with": {"fail_times": 5, "fatal": True},
            }
        ],
    )
    parent_job = await create(
        api,
        slug("parent"),
        [
            {
                "id": "spawn",
                "kind": "workflow",
                "workflow": child_job,
                "retry": {"max_attempts": 2, "initial_delay_secs": 0},
            }
        ],
        dead_letter=False,
    )
    parent_id = await trigger(api, parent_job, {})
    parent = await finished(api, parent_id)
    assert parent["status"] == "failed"
    assert "child run failed" in parent["error"] and "after 2 attempts" in parent["error"]
    children = await children_of(api, parent_id)
    assert sorted(c["workflow_step_run_id"] for c in children) == [
        f"{parent_id}:spawn:1",
        f"{parent_id}:spawn:2",
    ]
    assert {c["status"] for c in children} == {"failed"}


async def test_canceling_the_parent_cancels_its_child(api: Api) -> None:
    child_job = await create(
        api, slug("waits"), [{"id": "gate", "kind": "wait", "with": {"signal": "go"}}]
    )
    parent_job = await create(
        api, slug("parent"), [{"id": "spawn", "kind": "workflow", "workflow": child_job}]
    )
    parent_id = await trigger(api, parent_job, {})
    [child] = await eventually(
        lambda: children_of(api, parent_id),
        lambda children: len(children) == 1 and children[0]["status"] == "waiting",
    )
    waiting = await run_of(api, parent_id)
    assert waiting["status"] == "waiting"  # on its child run

    response = await api.http.delete(f"/v1/runs/{parent_id}", headers=api.admin)
    assert response.status_code == 200, response.text
    assert (await finished(api, parent_id))["status"] == "canceled"
    assert (await finished(api, child["id"]))["status"] == "canceled"


async def test_a_detached_run_outlives_the_step_that_started_it(api: Api) -> None:
    child_job = await create(
        api, slug("waits"), [{"id": "gate", "kind": "wait", "with": {"signal": "go"}}]
    )
    parent_job = await create(
        api,
        slug("parent"),
        [{"id": "kick", "kind": "workflow", "workflow": child_job, "detach": True}],
        output="{{ steps.kick.output.run_id }}",
    )
    parent_id = await trigger(api, parent_job, {})
    parent = await finished(api, parent_id)
    assert parent["status"] == "completed"
    detached = await run_of(api, parent["result"])
    assert detached["triggered_by"] == "workflow"
    assert detached["parent_run_id"] == parent_id
    assert detached["workflow_step_run_id"] == f"{parent_id}:kick:1"
    assert detached["finished_at"] is None  # still waiting for its event
    await api.http.delete(f"/v1/runs/{detached['id']}", headers=api.admin)


async def test_a_child_that_cannot_start_fails_the_step_with_a_sentence(api: Api) -> None:
    child_job = await double_job(api)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"id": "spawn", "kind": "workflow", "workflow": "no-such-job"}, "not found"),
        (
            {"id": "spawn", "kind": "workflow", "workflow": child_job, "with": {"n": "x"}},
            "does not match",
        ),
        (
            {"id": "spawn", "kind": "workflow", "workflow": child_job, "version": 9},
            "version",
        ),
    ]
    for step, needle in cases:
        parent_job = await create(api, slug("parent"), [step])
        parent = await finished(api, await trigger(api, parent_job, {}))
        assert parent["status"] == "failed", parent
        assert needle in parent["error"], parent["error"]
