"""Controls read their own writes: each answer is the run's state after the change, and the
very next call sees it, with no wait between calls, also under concurrent load; a control no
worker applies in time is refused and stays unapplied; runs of the type executions had
before take the same controls."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from temporalio.client import Client

from ferryman.api.codes import ErrorCode
from ferryman.api.errors import ApiError
from ferryman.api.executions.control import ExecutionControl
from ferryman.api.executions.ids import new_execution_id
from ferryman.api.executions.reader import ExecutionReader
from ferryman.api.store import db
from ferryman.settings import Settings
from ferryman.worker import build_worker
from ferryman.workflows import controls as c
from ferryman.workflows import models as m
from ferryman.workflows.execution import ExecutionWorkflow
from tests.support.api import Api
from tests.support.executions import start_execution
from tests.support.polling import eventually
from tests.support.runs import run_of, trigger

CYCLES = 10
RUNS = 6


def gated(job: str) -> dict[str, Any]:
    return {
        "id": job,
        "name": "Gated",
        "steps": [
            {"id": "first", "kind": "transform", "with": {"value": 1}},
            {"id": "gate", "kind": "wait", "depends_on": ["first"], "with": {"signal": "go"}},
        ],
    }


async def started(api: Api, job: str) -> str:
    run_id = str((await trigger(api, job))["id"])
    await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "waiting")
    return run_id


def completed(run: dict[str, Any]) -> bool:
    return bool(run["status"] == "completed")


def finished(run: dict[str, Any]) -> bool:
    return run["finished_at"] is not None


async def post(api: Api, path: str, **body: Any) -> Any:
    return await api.http.post(path, json=body or None, headers=api.admin)


async def pause_resume_cycles(api: Api, run_id: str) -> None:
    """Pause, read, pause again, resume, read, resume again: no pause between calls."""
    for _ in range(CYCLES):
        paused = await post(api, f"/v1/runs/{run_id}/pause")
        assert paused.status_code == 200 and paused.json()["status"] == "paused", paused.text
        assert (await run_of(api, run_id))["status"] == "paused"
        again = await post(api, f"/v1/runs/{run_id}/pause")
        assert again.status_code == 409 and again.json()["code"] == "execution_paused"
        resumed = await post(api, f"/api/v1/executions/{run_id}/resume")
        assert resumed.status_code == 200 and resumed.json()["status"] == "waiting"
        assert (await api.execution(run_id))["status"] == "waiting"
        twice = await post(api, f"/api/v1/executions/{run_id}/resume")
        assert twice.status_code == 409 and twice.json()["code"] == "execution_not_paused"


async def test_pause_then_resume_at_once_on_many_runs_at_the_same_time(api: Api) -> None:
    job = f"controls-{uuid.uuid4().hex[:8]}"
    await api.create_workflow(gated(job))
    runs = await asyncio.gather(*(started(api, job) for _ in range(RUNS)))
    await asyncio.gather(*(pause_resume_cycles(api, run_id) for run_id in runs))
    for run_id in runs:  # and the run still works: its event completes it
        event = await post(api, f"/api/v1/executions/{run_id}/signal", name="go")
        assert event.status_code == 200, event.text
    for run_id in runs:
        await eventually(partial(run_of, api, run_id), completed)


async def stop_twice(api: Api, run_id: str) -> None:
    stopped = await post(api, f"/api/v1/executions/{run_id}/stop")
    assert stopped.json() == {"execution_id": run_id, "status": "cancelled"}
    assert (await api.execution(run_id))["status"] == "cancelled"
    again = await post(api, f"/api/v1/executions/{run_id}/stop")
    assert again.status_code == 400 and again.json()["code"] == "execution_finished"
    paused = await post(api, f"/v1/runs/{run_id}/pause")
    assert paused.status_code == 409 and paused.json()["code"] == "execution_closed"


async def cancel_then_get(api: Api, run_id: str) -> None:
    canceled = await api.http.delete(f"/v1/runs/{run_id}", headers=api.admin)
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert (await run_of(api, run_id))["status"] == "canceled"
    again = await api.http.delete(f"/v1/runs/{run_id}", headers=api.admin)
    assert again.status_code == 400 and again.json()["code"] == "execution_finished"


async def test_stop_then_stop_and_cancel_then_get_with_no_delay(api: Api) -> None:
    job = f"stops-{uuid.uuid4().hex[:8]}"
    await api.create_workflow(gated(job))
    runs = await asyncio.gather(*(started(api, job) for _ in range(2 * RUNS)))
    await asyncio.gather(
        *(stop_twice(api, run_id) for run_id in runs[:RUNS]),
        *(cancel_then_get(api, run_id) for run_id in runs[RUNS:]),
    )
    for run_id in runs:  # and they did close canceled
        await eventually(partial(run_of, api, run_id), finished)
        assert (await run_of(api, run_id))["status"] == "canceled"


async def test_rollback_then_resume_and_debug_then_get(api: Api) -> None:
    job = f"rollback-{uuid.uuid4().hex[:8]}"
    await api.create_workflow(gated(job))
    run_id = await started(api, job)
    first = next(c for c in (await api.execution(run_id))["checkpoints"] if c["name"] == "first")
    rolled = await post(api, f"/api/v1/executions/{run_id}/rollback", checkpoint_id=first["id"])
    assert rolled.status_code == 200 and rolled.json()["status"] == "paused", rolled.text
    assert (await api.execution(run_id))["checkpoints"][-1]["name"] == "rollback"
    resumed = await post(api, f"/api/v1/executions/{run_id}/resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "waiting"
    debug = await post(api, f"/v1/runs/{run_id}/debug", enabled=True)
    assert debug.json() == {"run_id": run_id, "debug_mode": True}
    assert (await run_of(api, run_id))["debug_mode"] is True
    unknown = await post(api, f"/api/v1/executions/{run_id}/rollback", checkpoint_id="chk_x_99")
    assert unknown.status_code == 404


async def test_reschedule_is_seen_at_once_and_refused_once_started(api: Api) -> None:
    job = f"delayed-{uuid.uuid4().hex[:8]}"
    await api.create_workflow(gated(job))
    later = datetime.now(UTC) + timedelta(hours=1)
    run_id = str((await trigger(api, job, scheduled_at=later.isoformat()))["id"])
    await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "delayed")
    sooner = datetime.now(UTC) + timedelta(seconds=1)
    moved = await post(api, f"/v1/runs/{run_id}/reschedule", scheduled_at=sooner.isoformat())
    assert moved.status_code == 200 and moved.json()["status"] == "delayed", moved.text
    read = await run_of(api, run_id)
    assert datetime.fromisoformat(read["scheduled_at"]) == sooner
    await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "waiting")
    late = await post(api, f"/v1/runs/{run_id}/reschedule", scheduled_at=later.isoformat())
    assert late.status_code == 409 and late.json()["code"] == "run_not_delayed"
    assert late.json()["error"] == "the run is waiting; only a delayed run can be rescheduled"


async def test_a_control_no_worker_applies_in_time_is_refused_and_never_applied(
    temporal_client: Client, base_settings: Settings
) -> None:
    settings = base_settings.model_copy(update={"task_queue": f"idle-{uuid.uuid4().hex[:8]}"})
    handle = await start_execution(
        temporal_client, settings, gated("late"), execution_id=new_execution_id()
    )
    control = ExecutionControl(ExecutionReader(temporal_client, settings), timeout_secs=1)
    with pytest.raises(ApiError) as refused:
        await control.pause("p", handle.id)
    assert refused.value.code == ErrorCode.WORKER_UNAVAILABLE
    assert settings.task_queue in refused.value.message
    async with db.open_store(settings.resolved_database_url) as store:
        running = build_worker(temporal_client, settings, store.sessions)
        task = asyncio.create_task(running.run())
        try:
            state = await eventually(
                lambda: handle.query(ExecutionWorkflow.state),
                lambda s: s.steps["gate"].status == "waiting",
            )
            assert state.status == "waiting" and not state.paused  # the late pause was refused
            resumed = await control.pause("p", handle.id)  # with a worker: applied at once
            assert resumed.status == "paused"
        finally:
            await running.shutdown()
            await task


@pytest.mark.usefixtures("worker")
async def test_runs_of_the_type_executions_had_before_take_the_same_controls(
    temporal_client: Client, base_settings: Settings
) -> None:
    # The launcher names the type after the workflow id: this one is the old generic type.
    document = gated("legacy")
    document["steps"].append(
        {"id": "after", "kind": "transform", "depends_on": ["gate"], "with": {"value": 2}}
    )
    handle = await start_execution(
        temporal_client,
        base_settings,
        document,
        execution_id=new_execution_id(),
        workflow_id="ExecutionWorkflow",
    )
    await eventually(
        lambda: handle.query(ExecutionWorkflow.state),
        lambda s: s.steps["gate"].status == "waiting",
    )
    assert (await handle.describe()).workflow_type == "ExecutionWorkflow"
    control = ExecutionControl(ExecutionReader(temporal_client, base_settings), timeout_secs=10)
    assert (await control.pause("p", handle.id)).status == "paused"
    with pytest.raises(ApiError) as twice:
        await control.pause("p", handle.id)
    assert twice.value.code == ErrorCode.EXECUTION_PAUSED
    # The waiting step takes the event while paused; the step after it waits for the resume.
    assert (await control.deliver("p", handle.id, "go", {"by": "ada"})).status == "paused"
    await control.resume("p", handle.id)
    result = await handle.result()
    assert result.status == "completed"


async def test_validators_refuse_what_the_state_does_not_allow(
    temporal_client: Client, base_settings: Settings, worker: None
) -> None:
    """The refusals come from the run itself (its validators), not from a stale read."""
    handle = await start_execution(
        temporal_client, base_settings, gated("validated"), execution_id=new_execution_id()
    )
    await eventually(
        lambda: handle.query(ExecutionWorkflow.state),
        lambda s: s.steps["gate"].status == "waiting",
    )
    refusals: dict[c.Refusal, tuple[Any, Any]] = {
        c.Refusal.NOT_PAUSED: (ExecutionWorkflow.resume, c.ControlRequest()),
        c.Refusal.NOT_DELAYED: (
            ExecutionWorkflow.reschedule,
            c.RescheduleRequest(scheduled_at=datetime.now(UTC)),
        ),
        c.Refusal.UNKNOWN_CHECKPOINT: (ExecutionWorkflow.rollback, c.RollbackRequest(sequence=99)),
        c.Refusal.UNKNOWN_EVENT: (ExecutionWorkflow.event, c.StepSignal(name="nope")),
        c.Refusal.LATE: (
            ExecutionWorkflow.pause,
            c.ControlRequest(deadline=datetime.now(UTC) - timedelta(seconds=1)),
        ),
    }
    for refusal, (update, request) in refusals.items():
        with pytest.raises(Exception) as refused:
            await handle.execute_update(update, request)
        assert getattr(refused.value.__cause__, "type", None) == refusal, refusal
    state: m.ExecutionState = await handle.query(ExecutionWorkflow.state)
    assert state.status == "waiting" and not state.paused
    await handle.cancel()
