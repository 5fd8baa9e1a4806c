"""What an execution is doing, as a client and an operator (Temporal UI and CLI) see it."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.support.api import Api
from tests.support.polling import eventually


def slug() -> str:
    return f"vis-{uuid.uuid4().hex[:10]}"


def nap_then_gate(workflow_id: str, nap_secs: float) -> dict[str, Any]:
    return {
        "id": workflow_id,
        "name": "Nap then gate",
        "steps": [
            {"id": "nap", "kind": "sleep", "with": {"seconds": nap_secs}},
            {
                "id": "gate",
                "kind": "wait",
                "depends_on": ["nap"],
                "with": {"signal": "approve"},
                "timeout_secs": 600,
            },
        ],
        "output": "{{ steps.gate.output }}",
    }


def step(execution: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in execution["steps"] if s["step_id"] == step_id)


async def test_sleep_and_wait_steps_show_their_status_start_and_what_they_wait_on(
    api: Api,
) -> None:
    workflow_id = slug()
    await api.create_workflow(nap_then_gate(workflow_id, 3))
    execution_id = await api.run(workflow_id)
    napping = await eventually(
        lambda: api.execution(execution_id, include_step_results="true"),
        lambda e: step(e, "nap")["status"] == "waiting",
    )
    assert step(napping, "nap")["started_at"] is not None
    assert step(napping, "gate")["status"] == "pending"
    [waiting] = napping["waiting_on"]
    assert waiting["step"] == "nap" and waiting["kind"] == "sleep" and waiting["until"]
    assert waiting["signal"] is None

    gating = await eventually(
        lambda: api.execution(execution_id, include_step_results="true"),
        lambda e: step(e, "gate")["status"] == "waiting",
    )
    assert step(gating, "nap")["status"] == "completed"
    assert step(gating, "gate")["started_at"] is not None
    [waiting] = gating["waiting_on"]
    assert waiting == {
        "step": "gate",
        "kind": "wait",
        "since": waiting["since"],
        "signal": "approve",
        "until": waiting["until"],
        "run_id": None,
    }
    events = (
        await api.http.get(f"/api/v1/executions/{execution_id}/events", headers=api.admin)
    ).json()["items"]
    started = [e["data"]["step_id"] for e in events if e["type"] == "step.started"]
    assert started == ["nap", "gate"]

    await api.http.post(
        f"/api/v1/executions/{execution_id}/signal",
        json={"name": "approve", "payload": {"ok": True}},
        headers=api.admin,
    )
    done = await eventually(
        lambda: api.execution(execution_id), lambda e: e["status"] == "completed"
    )
    assert done["waiting_on"] == [] and done["output"] == {"ok": True}


async def test_the_temporal_ui_names_the_workflow_its_events_and_its_timers(
    api: Api, temporal_client: Client
) -> None:
    workflow_id = slug()
    await api.create_workflow(nap_then_gate(workflow_id, 0.1))
    execution_id = await api.run(workflow_id)
    await eventually(
        lambda: api.execution(execution_id),
        lambda e: e["waiting_on"] != [] and e["waiting_on"][0]["step"] == "gate",
    )
    await api.http.post(
        f"/api/v1/executions/{execution_id}/signal",
        json={"name": "approve", "payload": 1},
        headers=api.admin,
    )
    await eventually(lambda: api.execution(execution_id), lambda e: e["status"] == "completed")
    handle = temporal_client.get_workflow_handle(execution_id)
    assert (await handle.describe()).workflow_type == workflow_id
    events = [event async for event in handle.fetch_history_events()]
    # The event is an update of its own name, so the UI's timeline says `approve`.
    updates = [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    assert updates == ["approve"]
    converter = temporal_client.data_converter.payload_converter
    summaries = [
        converter.from_payload(e.user_metadata.summary)
        for e in events
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
    ]
    assert len(summaries) == 2, summaries
    assert summaries[0].startswith("nap: sleep")
    assert summaries[1] == "gate: wait for approve (600.0s)"


async def test_a_terminate_from_the_ui_or_cli_keeps_its_reason(
    api: Api, temporal_client: Client
) -> None:
    workflow_id = slug()
    await api.create_workflow(nap_then_gate(workflow_id, 0.1))
    execution_id = await api.run(workflow_id)
    await eventually(lambda: api.execution(execution_id), lambda e: e["status"] == "waiting")
    await temporal_client.get_workflow_handle(execution_id).terminate(reason="an operator said so")
    ended = await eventually(
        lambda: api.execution(execution_id), lambda e: e["status"] == "cancelled"
    )
    assert ended["error_cause"] == "terminated: an operator said so"


async def test_activity_steps_have_a_heartbeat_timeout_and_http_steps_run_locally(
    api: Api, http_target: str, temporal_client: Client
) -> None:
    """An `activity` step (and an `http` step with `local: false`) is a regular activity
    with a heartbeat timeout; an `http` step runs as a local activity by default: one
    marker, no task queue round trip."""
    workflow_id = slug()
    url = f"{http_target}/healthz"
    await api.create_workflow(
        {
            "id": workflow_id,
            "name": "Heartbeats",
            "steps": [
                {"id": "echo", "kind": "activity", "activity": "test.echo", "with": {"n": 1}},
                {"id": "remote", "kind": "http", "local": False, "with": {"url": url}},
                {"id": "near", "kind": "http", "with": {"url": url}},
            ],
        }
    )
    execution_id = await api.run(workflow_id)
    await eventually(lambda: api.execution(execution_id), lambda e: e["status"] == "completed")
    handle = temporal_client.get_workflow_handle(execution_id)
    events = [e async for e in handle.fetch_history_events()]
    attributes = [
        e.activity_task_scheduled_event_attributes
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    scheduled = {s.activity_id: s for s in attributes}
    settings = api.app.state.resources.settings
    assert sorted(scheduled) == ["echo#1", "remote#1"]
    heartbeat = timedelta(seconds=settings.heartbeat_secs)
    assert {s.heartbeat_timeout.ToTimedelta() for s in scheduled.values()} == {heartbeat}
    markers = [
        e.marker_recorded_event_attributes.marker_name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    ]
    assert markers.count("core_local_activity") == 1  # `near`
    steps = (await api.execution(execution_id, include_step_results="true"))["steps"]
    assert {step["step_id"]: step["status"] for step in steps} == dict.fromkeys(
        ("echo", "remote", "near"), "completed"
    )


async def test_docs_work_offline_and_operation_ids_are_short(api: Api) -> None:
    page = await api.http.get("/docs")
    assert page.status_code == 200
    scripts = re.findall(r"""(?:src|href)=['"]([^'"]+\.(?:js|css))['"]""", page.text)
    assert scripts, page.text
    for asset in scripts:
        assert asset.startswith("/"), f"{asset} is not served by the API itself"
        fetched = await api.http.get(asset)
        assert fetched.status_code == 200 and len(fetched.content) > 10_000, asset
    document = (await api.http.get("/openapi.json")).json()
    ids = [
        operation["operationId"]
        for path in document["paths"].values()
        for operation in path.values()
    ]
    assert len(ids) == len(set(ids)), "operation ids must be unique"
    for operation_id in ids:
        assert re.fullmatch(r"[a-z][a-z0-9_]{2,40}", operation_id), operation_id
        assert "api_v1" not in operation_id and not operation_id.endswith(("_get", "_post"))
    assert "get_execution" in ids and "create_execution" in ids
