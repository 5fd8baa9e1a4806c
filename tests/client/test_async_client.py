"""`AsyncClient` against a real `ferryman api` process: runs followed as they happen, dead
letters, schedules, and the `/api/v1` surface (workflows, executions, failures)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ferryman.client import AsyncClient, FerrymanError
from ferryman.client.models import Execution, Run, Schedule, Workflow
from tests.support.api_process import ApiProcess
from tests.support.definitions import approval_job, job_id, parked_job, quick_job
from tests.support.polling import eventually


async def test_a_run_is_followed_while_it_runs(module_api_process: ApiProcess) -> None:
    api = module_api_process
    job = job_id("async")
    async with AsyncClient(api.url, api_key=api.key) as client:
        applied = await client.jobs.apply(approval_job(job))
        assert applied.change == "created"
        run = await client.runs.trigger(job, {"name": "Ada"})
        assert isinstance(run, Run)
        seen: list[str] = []
        async with client.runs.stream(run.id) as stream:
            async for event in stream:
                seen.append(event.type)
                if event.type == "step.started" and event.data["step_id"] == "approval":
                    await client.runs.signal(run.id, "approve", {"by": "async"})
            assert stream.last_event_id is not None
        assert seen[0] == "execution.started" and seen[-1] == "execution.completed"
        assert "signal.received" in seen
        done = await client.runs.get(run.id)
        assert (done.status, done.result) == ("completed", "Hi Ada, by async")
        listed = [r.id async for r in client.runs.list(job_id=job, status="completed")]
        assert listed == [run.id]
        with pytest.raises(FerrymanError) as missing:
            await client.runs.get("exec_00000000000000000000000000")
        assert missing.value.code == "execution_not_found"


async def test_dead_letters_are_listed_and_redriven(
    module_api_process: ApiProcess, tmp_path: Path
) -> None:
    api = module_api_process
    job = job_id("dlq")
    marker = tmp_path / "fixed"
    async with AsyncClient(api.url, api_key=api.key) as client:
        await client.jobs.create(parked_job(job, marker))
        run = await client.runs.trigger(job)
        await eventually(lambda: client.runs.get(run.id), lambda r: r.status == "dead_letter")
        parked = [r.id async for r in client.dead_letters.list(job_id=job)]
        assert parked == [run.id]
        marker.touch()
        redriven = await client.dead_letters.redrive(run.id)
        assert redriven.id == run.id
        done = await eventually(lambda: client.runs.get(run.id), lambda r: r.status == "completed")
        assert done.result == "fixed"
        with pytest.raises(FerrymanError) as again:
            await client.dead_letters.redrive(run.id)
        assert (again.value.status, again.value.code) == (409, "run_not_dead_lettered")
        assert (await client.dead_letters.redrive_all(job_id=job)).count == 0


async def test_schedules_are_created_paused_and_deleted(module_api_process: ApiProcess) -> None:
    api = module_api_process
    job = job_id("cron")
    async with AsyncClient(api.url, api_key=api.key) as client:
        await client.jobs.create(quick_job(job))
        schedule = await client.schedules.create(job, "@every 1h", payload={"value": 1})
        assert isinstance(schedule, Schedule) and schedule.job_id == job
        assert not schedule.paused and schedule.next_run_at is not None
        listed = [s.id async for s in client.schedules.list(page_size=1)]
        assert schedule.id in listed
        assert (await client.schedules.pause(schedule.id)).paused
        assert not (await client.schedules.unpause(schedule.id)).paused
        assert (await client.schedules.get(schedule.id)).cron == "@every 1h"
        assert (await client.schedules.delete(schedule.id)).deleted
        with pytest.raises(FerrymanError) as gone:
            await client.schedules.get(schedule.id)
        assert gone.value.code == "schedule_not_found"
        with pytest.raises(FerrymanError) as unknown:
            await client.schedules.create("no-such-job", "@daily")
        assert unknown.value.code == "workflow_not_found"


async def test_the_executions_surface(module_api_process: ApiProcess) -> None:
    api = module_api_process
    workflow_id = job_id("flow")
    async with AsyncClient(api.url, api_key=api.key) as client:
        created = await client.workflows.create(approval_job(workflow_id))
        assert isinstance(created, Workflow) and created.version == 1
        described = {**approval_job(workflow_id), "description": "v2"}
        assert (await client.workflows.update(workflow_id, described)).version == 2
        assert (await client.workflows.get(workflow_id, version=1)).description is None
        versions = await client.workflows.versions(workflow_id)
        assert [v.version for v in versions.items] == [1, 2]
        assert workflow_id in [w.id async for w in client.workflows.list(page_size=1)]

        started = await client.executions.create(workflow_id, {"name": "Eve"})
        execution = await client.executions.get(started.id)
        assert isinstance(execution, Execution) and execution.workflow_id == workflow_id
        listed = [e.id async for e in client.executions.list(workflow_id=workflow_id)]
        assert listed == [started.id]
        await eventually(lambda: client.executions.get(started.id), lambda e: e.status == "waiting")
        assert (await client.executions.signal(started.id, "approve", {"by": "x"})).execution_id
        events = [event.type async for event in client.executions.stream(started.id)]
        assert events[-1] == "execution.completed"
        paged = [event.id async for event in client.executions.events(started.id, page_size=2)]
        assert len(paged) == len(events) and paged == sorted(paged)
        done = await client.executions.get(started.id, include_step_results=True)
        assert done.status == "completed" and done.steps is not None
        checkpoints = await client.executions.checkpoints(started.id)
        assert checkpoints[0].name == "start"
        replayed = await client.executions.replay(started.id, checkpoints[-1].id)
        assert replayed.id != started.id

        disabled = await client.workflows.disable(workflow_id)
        assert disabled.disabled
        with pytest.raises(FerrymanError) as refused:
            await client.executions.create(workflow_id, {"name": "Eve"})
        assert (refused.value.status, refused.value.code) == (409, "workflow_disabled")
        assert not (await client.workflows.enable(workflow_id)).disabled

        failing = job_id("failing")
        await client.workflows.create(quick_job(failing, fail=True))
        failed = await client.executions.create(failing, {"value": 1})
        await eventually(lambda: client.executions.get(failed.id), lambda e: e.status == "failed")
        failures = [f.execution_id async for f in client.executions.failures(workflow_id=failing)]
        assert failures == [failed.id]
        with pytest.raises(FerrymanError) as closed:
            await client.executions.stop(failed.id)
        assert closed.value.code == "execution_finished"


async def test_bulk_replay_answers_the_new_runs(module_api_process: ApiProcess) -> None:
    api = module_api_process
    job = job_id("bulk")
    async with AsyncClient(api.url, api_key=api.key) as client:
        await client.jobs.create(quick_job(job))
        run = await client.runs.trigger(job, {"value": 1})
        await eventually(lambda: client.runs.get(run.id), lambda r: r.status == "completed")
        replayed = await client.runs.bulk_replay([run.id])
        assert [r.continuation_of for r in replayed] == [run.id]


async def test_every_other_endpoint_answers_its_model(module_api_process: ApiProcess) -> None:
    api = module_api_process
    job, upstream = job_id("rest"), job_id("upstream")
    async with AsyncClient(api.url, api_key=api.key) as client:
        await client.jobs.create(approval_job(job))
        await client.jobs.create(quick_job(upstream))
        dependency = await client.jobs.add_dependency(job, upstream, "finished")
        assert (dependency.job_id, dependency.condition) == (job, "finished")
        assert await client.jobs.dependencies(job) == [dependency]
        await client.runs.trigger(upstream, {"value": 1})

        batch = await client.runs.trigger_batch(
            job, [{"payload": {"name": "A"}}, {"payload": {"name": "B"}, "priority": 5}]
        )
        assert len(batch.runs) == 2 and {r.batch_id for r in batch.runs} == {batch.batch_id}
        run = batch.runs[0]
        status = await client.runs.dependency_status(run.id)
        assert status.run_id == run.id and [d.depends_on_job_id for d in status.dependencies] == [
            upstream
        ]
        assert (await client.runs.debug(run.id)).debug_mode is True
        assert await client.runs.children(run.id) == []
        assert await client.runs.usage(run.id) == []
        assert await client.runs.tool_calls(run.id) == []
        assert await client.runs.outputs(run.id) == []
        assert (await client.runs.reset_idempotency_key(run.id)).status == "reset"
        restarted = await client.runs.restart(run.id, payload={"name": "C"})
        assert restarted.id != run.id and restarted.payload == {"name": "C"}
        cancel = await client.runs.bulk_cancel([run.id, restarted.id])
        assert cancel.total == 2
        rest = await client.runs.bulk_cancel_matching(job_id=job)
        assert batch.runs[1].id in [item.id for item in rest.results]
        await eventually(
            lambda: client.runs.get(batch.runs[1].id), lambda r: r.status == "canceled"
        )
        bundle = await client.runs.debug_bundle(run.id)
        assert bundle.run.id == run.id and bundle.history["events"]

        later = datetime.now(UTC) + timedelta(hours=1)
        delayed = await client.runs.trigger(job, {"name": "D"}, scheduled_at=later)
        await eventually(lambda: client.runs.get(delayed.id), lambda r: r.status == "delayed")
        sooner = later - timedelta(minutes=30)
        moved = await client.runs.reschedule(delayed.id, sooner)
        assert moved.scheduled_at == sooner
        await client.runs.cancel(delayed.id)

        accepted = await client.executions.run_async(job, {"name": "E"})
        await eventually(
            lambda: client.executions.get(accepted.execution_id), lambda e: e.status == "waiting"
        )
        assert (await client.executions.pause(accepted.execution_id)).status == "paused"
        await eventually(
            lambda: client.executions.get(accepted.execution_id), lambda e: e.status == "paused"
        )
        assert (await client.executions.resume(accepted.execution_id)).status != "paused"
        first = (await client.executions.checkpoints(accepted.execution_id))[0]
        state = await client.executions.checkpoint(accepted.execution_id, first.id)
        assert state.id == first.id and state.state["input"] == {"name": "E"}
        stopped = await client.executions.stop(accepted.execution_id)
        assert stopped.execution_id == accepted.execution_id
        await eventually(
            lambda: client.executions.get(accepted.execution_id),
            lambda e: e.status == "cancelled",
        )
        rolled = await client.executions.rollback(accepted.execution_id, first.id)
        assert rolled.status == "paused"
        await client.executions.stop(accepted.execution_id, force=True)

        created = await client.keys.create(["executions:read"], name="reader")
        assert created.key.startswith("fm_") and created.scopes == ["executions:read"]
        assert created.id in [key.id for key in await client.keys.list()]
        rotated = await client.keys.rotate(created.id)
        assert rotated.key != created.key
        revoked = await client.keys.revoke(rotated.id)
        assert revoked.revoked_at is not None
