"""The statuses `/v1` shows that the executions surface folds together, each where it applies."""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker

from ferryman import search_attributes as sa
from ferryman.activities.guard import StepGuard
from ferryman.activities.http import http_request
from ferryman.api.executions.ids import new_execution_id
from ferryman.settings import Settings
from ferryman.worker import WORKFLOWS, workflow_runner
from tests.support.api import Api
from tests.support.executions import start_execution
from tests.support.polling import eventually


async def run_of(api: Api, run_id: str) -> dict[str, Any]:
    return dict((await api.http.get(f"/v1/runs/{run_id}", headers=api.admin)).json())


async def test_a_run_writes_its_status_once_per_workflow_task(
    api: Api, temporal_client: Client
) -> None:
    """The status written is the one in force when each workflow task ends: a run picked
    up, run and finished in one task (a transform) writes only `completed`, never the
    `dequeued` and `executing` it passed through within that task."""
    job = f"st-{uuid.uuid4().hex[:8]}"
    await api.create_workflow(
        {
            "id": job,
            "name": "Quick",
            "steps": [{"id": "a", "kind": "transform", "with": {"value": 1}}],
        }
    )
    run_id = (await api.http.post(f"/v1/jobs/{job}/trigger", headers=api.admin)).json()["id"]
    await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "completed")
    converter = temporal_client.data_converter.payload_converter
    recorded = [
        converter.from_payload(
            e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields[
                sa.STATUS.name
            ]
        )
        async for e in temporal_client.get_workflow_handle(run_id).fetch_history_events()
        if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
        and sa.STATUS.name
        in e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
    ]
    assert recorded == ["completed"]


async def test_a_step_whose_activity_no_worker_has_ends_system_failed(
    api: Api, temporal_client: Client, base_settings: Settings
) -> None:
    """An engine fault, not the step's: the worker that ran it lacks the activity."""
    settings = base_settings.model_copy(update={"task_queue": f"bare-{uuid.uuid4().hex[:8]}"})
    bare = Worker(
        temporal_client,
        task_queue=settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=[http_request],
        interceptors=[StepGuard()],
        workflow_runner=workflow_runner(),
    )
    run_id = new_execution_id()
    async with bare:
        await start_execution(
            temporal_client,
            settings,
            {
                "defaults": {"retry": {"max_attempts": 1}},
                "steps": [{"id": "echo", "kind": "activity", "activity": "test.echo"}],
            },
            execution_id=run_id,
            project_id="default",
        )
        failed = await eventually(
            lambda: run_of(api, run_id), lambda r: r["status"] == "system_failed"
        )
    assert "not registered" in failed["error"]
    listed = await api.http.get("/v1/runs", params={"status": "system_failed"}, headers=api.admin)
    assert run_id in [r["id"] for r in listed.json()]
    execution = await api.execution(run_id)
    assert (execution["status"], execution["error"]) == ("failed", "system_failed")
