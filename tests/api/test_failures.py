"""The failures view and stuck executions: named, with the actions that resolve them."""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.common import SearchAttributePair, TypedSearchAttributes

from ferryman import search_attributes as sa
from ferryman.api.executions.ids import new_execution_id
from ferryman.workflows.dsl import WorkflowDefinition
from ferryman.workflows.snapshot import DefinitionSnapshot
from tests.support.api import Api
from tests.support.executions import start_execution
from tests.support.polling import eventually


async def failures(api: Api, workflow_id: str) -> list[dict[str, Any]]:
    response = await api.http.get(
        "/api/v1/failures", params={"workflow_id": workflow_id}, headers=api.admin
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_failed_executions_are_listed_with_their_resolutions(api: Api) -> None:
    workflow_id = f"fl-{uuid.uuid4().hex[:8]}"
    await api.create_workflow(
        {
            "id": workflow_id,
            "name": "Breaks",
            "steps": [
                {"id": "ok", "kind": "transform", "with": {"value": 1}},
                {
                    "id": "boom",
                    "kind": "activity",
                    "activity": "test.flaky",
                    "depends_on": ["ok"],
                    "with": {"fail_times": 9},
                    "retry": {"max_attempts": 2, "backoff": "fixed", "initial_delay_secs": 0.1},
                },
            ],
        }
    )
    execution_id = await api.run(workflow_id)
    rows = await eventually(lambda: failures(api, workflow_id), lambda items: len(items) == 1)
    row = rows[0]
    assert row["execution_id"] == execution_id and row["status"] == "failed"
    assert (row["failed_step"], row["attempts"], row["error"]) == ("boom", 2, "dead_letter")
    assert row["error_class"] == "Planned" and "planned failure" in row["last_error"]
    actions = {a["action"]: a for a in row["actions"]}
    assert set(actions) == {"replay_from_last_checkpoint", "rollback", "replay_from_start"}
    replay = actions["replay_from_last_checkpoint"]
    assert replay["body"]["checkpoint_id"].endswith("_1")
    followed = await api.http.post(replay["endpoint"], json=replay["body"], headers=api.admin)
    assert followed.status_code == 201
    other = await api.key_for(project=f"other-{uuid.uuid4().hex[:6]}")
    theirs = await api.http.get("/api/v1/failures", headers=other)
    assert theirs.json()["total"] == 0


async def test_a_step_that_keeps_retrying_is_stuck(api: Api) -> None:
    workflow_id = f"st-{uuid.uuid4().hex[:8]}"
    await api.create_workflow(
        {
            "id": workflow_id,
            "name": "Retries",
            "steps": [
                {
                    "id": "again",
                    "kind": "activity",
                    "activity": "test.flaky",
                    "with": {"fail_times": 99},
                    "retry": {"max_attempts": 50, "backoff": "fixed", "initial_delay_secs": 0.2},
                }
            ],
        }
    )
    execution_id = await api.run(workflow_id)
    stuck = await eventually(lambda: api.execution(execution_id), lambda e: e["stuck"] is not None)
    assert stuck["status"] == "running" or stuck["status"] == "waiting"
    assert stuck["stuck"]["reason"] == "step_retrying"
    listed = await failures(api, workflow_id)
    assert listed[0]["stuck"]["reason"] == "step_retrying"
    await api.http.post(f"/api/v1/executions/{execution_id}/stop?force=true", headers=api.admin)


async def test_no_worker_is_named(api: Api) -> None:
    resources = api.app.state.resources
    execution_id = new_execution_id()
    await start_execution(
        resources.client,
        resources.settings.model_copy(update={"task_queue": "nobody-polls"}),
        {"name": "Lonely", "steps": [{"id": "t", "kind": "transform", "with": {"value": 1}}]},
        execution_id=execution_id,
        project_id="default",
        workflow_id="lonely",
    )
    stuck = await eventually(
        lambda: api.execution(execution_id), lambda e: e["stuck"] is not None, timeout=20
    )
    assert stuck["status"] == "queued"
    assert stuck["stuck"]["reason"] == "no_worker" and "nobody-polls" in stuck["stuck"]["detail"]
    assert stuck["stuck"]["since"]
    await api.http.post(f"/api/v1/executions/{execution_id}/stop?force=true", headers=api.admin)


async def test_a_failing_workflow_task_is_stuck_not_failed(api: Api) -> None:
    client = api.app.state.resources.client
    execution_id = new_execution_id()
    # An input this worker cannot decode fails every workflow task: the shape a
    # non-deterministic code change takes.
    await client.start_workflow(
        "ExecutionWorkflow",
        {"execution_id": execution_id, "definition": "not a definition"},
        id=execution_id,
        task_queue=api.app.state.resources.settings.task_queue,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(sa.PROJECT, "default"),
                SearchAttributePair(sa.WORKFLOW, "broken"),
                SearchAttributePair(sa.STATUS, "queued"),
            ]
        ),
    )
    stuck = await eventually(
        lambda: api.execution(execution_id), lambda e: e["stuck"] is not None, timeout=60
    )
    assert stuck["stuck"]["reason"] == "workflow_task_failing"
    assert stuck["status"] in ("queued", "running")
    listed = await failures(api, "broken")
    assert execution_id in [row["execution_id"] for row in listed]
    await api.http.post(f"/api/v1/executions/{execution_id}/stop?force=true", headers=api.admin)


async def test_a_temporal_timeout_reads_as_timed_out(api: Api) -> None:
    from datetime import timedelta

    from ferryman.workflows import models as m

    client = api.app.state.resources.client
    execution_id = new_execution_id()
    definition = WorkflowDefinition.model_validate(
        {"name": "Late", "steps": [{"id": "g", "kind": "wait", "with": {"signal": "never"}}]}
    )
    await client.start_workflow(
        "ExecutionWorkflow",
        m.ExecutionInput(
            execution_id=execution_id,
            project_id="default",
            workflow_id="late",
            workflow_name="Late",
            version=1,
            definition=DefinitionSnapshot.of(definition),
        ),
        id=execution_id,
        task_queue=api.app.state.resources.settings.task_queue,
        execution_timeout=timedelta(seconds=1),
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(sa.PROJECT, "default"), SearchAttributePair(sa.WORKFLOW, "late")]
        ),
    )
    late = await eventually(
        lambda: api.execution(execution_id), lambda e: e["status"] == "timed_out"
    )
    assert late["error"] == "timed_out"
    listed = await api.http.get(
        "/api/v1/executions",
        params={"workflow_id": "late", "status": "timed_out"},
        headers=api.admin,
    )
    assert execution_id in [row["id"] for row in listed.json()["items"]]
