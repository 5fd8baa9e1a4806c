"""The blocking `Client` against a real `ferryman api` process (and the session's worker):
jobs, runs and their controls, lists over pages, errors with the API's code, retries that
are safe and none that are not.

The worker runs on this test's event loop, so every blocking call goes to a thread
(`off`): a blocked loop would stall the runs the calls wait for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
import yaml

from ferryman.client import Client, FerrymanError
from ferryman.client.models import ControlResult, Job, Run, RunEvent
from ferryman.processes import free_port
from tests.support.api_process import ApiProcess
from tests.support.definitions import approval_job, job_id, quick_job
from tests.support.polling import eventually
from tests.support.proxy import proxy_to

T = TypeVar("T")


async def off(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(function, *args, **kwargs)


async def reaches(client: Client, run_id: str, status: str) -> Run:
    """The run, once it is in `status`."""
    return await eventually(lambda: off(client.runs.get, run_id), lambda r: r.status == status)


async def every(items: Iterator[T]) -> list[T]:
    """All of a list's pages (or a stream, until it ends), read off the loop."""
    return await asyncio.to_thread(list, items)


async def test_a_job_is_applied_triggered_signalled_and_read(
    module_api_process: ApiProcess,
) -> None:
    api = module_api_process
    job = job_id("client")
    with Client(api.url, api_key=api.key) as client:
        created = await off(client.jobs.apply, approval_job(job))
        assert created.change == "created" and isinstance(created.job, Job)
        assert created.job.job_version == 1
        # The same definition again, as YAML text: the same version.
        same = await off(client.jobs.apply, yaml.safe_dump(approval_job(job)))
        assert (same.change, same.job.job_version) == ("unchanged", 1)
        described = {**approval_job(job), "description": "with a description"}
        updated = await off(client.jobs.apply, described)
        assert (updated.change, updated.job.job_version) == ("updated", 2)
        assert updated.job.description == "with a description"
        assert job in [listed.id for listed in await off(client.jobs.list)]

        run = await off(client.runs.trigger, job, {"name": "Ada"}, tags={"team": "a"})
        assert isinstance(run, Run) and (run.job_id, run.tags) == (job, {"team": "a"})
        assert run.idempotency_key  # one the client made, so a retry finds this run
        waiting = await reaches(client, run.id, "waiting")
        assert waiting.job_version == 2
        answer = await off(client.runs.signal, run.id, "approve", {"by": "me"})
        assert isinstance(answer, ControlResult) and answer.execution_id == run.id

        # The stream ends when the run closes: every event once, in order.
        streamed = await every(client.runs.stream(run.id))
        assert all(isinstance(event, RunEvent) for event in streamed)
        assert streamed[-1].type == "execution.completed"
        ids = [int(event.id) for event in streamed]
        assert ids == sorted(set(ids))
        paged = await every(client.runs.events(run.id, page_size=2))
        assert [event.id for event in paged] == [event.id for event in streamed]

        done = await off(client.runs.get, run.id)
        assert (done.status, done.result) == ("completed", "Hi Ada, by me")
        checkpoints = await off(client.runs.checkpoints, run.id)
        assert [c.source for c in checkpoints] == ["start", "greet", "approval", "done"]
        state = await off(client.runs.state, run.id)
        assert state.steps["approval"].output == {"by": "me"}


async def test_runs_are_listed_over_pages_and_filtered(module_api_process: ApiProcess) -> None:
    api = module_api_process
    job = job_id("paged")
    with Client(api.url, api_key=api.key) as client:
        await off(client.jobs.create, quick_job(job))
        runs = [await off(client.runs.trigger, job, {"value": n}) for n in range(3)]

        # Settled runs page exactly (visibility moves a run that closes between two pages).
        async def settled() -> list[str]:
            return [str((await off(client.runs.get, run.id)).status) for run in runs]

        await eventually(settled, lambda statuses: statuses == ["completed"] * 3)
        listed = await every(client.runs.list(job_id=job, page_size=1))
        assert sorted(r.id for r in listed) == sorted(r.id for r in runs)
        completed = await every(client.runs.list(job_id=job, status=["completed", "failed"]))
        assert len(completed) == 3
        assert await every(client.runs.list(job_id=job, status="failed")) == []
        tagged = await every(client.runs.list(job_id=job, payload={"value": 1}))
        assert [r.id for r in tagged] == [runs[1].id]


async def test_the_same_idempotency_key_gives_the_same_run(
    module_api_process: ApiProcess,
) -> None:
    api = module_api_process
    job = job_id("keyed")
    with Client(api.url, api_key=api.key) as client:
        await off(client.jobs.create, approval_job(job))
        first = await off(client.runs.trigger, job, {"name": "A"}, idempotency_key="order-1")
        again = await off(client.runs.trigger, job, {"name": "A"}, idempotency_key="order-1")
        other = await off(client.runs.trigger, job, {"name": "A"})
        assert first.id == again.id != other.id
        with pytest.raises(FerrymanError) as reused:
            await off(client.runs.trigger, job, {"name": "B"}, idempotency_key="order-1")
        assert (reused.value.status, reused.value.code) == (409, "idempotency_key_reused")
        for run in (first, other):
            await off(client.runs.cancel, run.id)


async def test_controls_pause_resume_cancel_replay(module_api_process: ApiProcess) -> None:
    api = module_api_process
    job = job_id("controls")
    with Client(api.url, api_key=api.key) as client:
        await off(client.jobs.create, approval_job(job))
        run = await off(client.runs.trigger, job, {"name": "Bo"})
        await reaches(client, run.id, "waiting")
        assert (await off(client.runs.pause, run.id)).status == "paused"
        await reaches(client, run.id, "paused")
        resumed = await off(client.runs.resume, run.id)
        assert resumed.status in ("executing", "waiting")
        canceled = await off(client.runs.cancel, run.id)
        assert canceled.id == run.id
        await reaches(client, run.id, "canceled")
        replayed = await off(client.runs.replay, run.id)
        assert replayed.id != run.id and replayed.continuation_of == run.id
        lineage = await off(client.runs.lineage, replayed.id)
        assert [r.id for r in lineage] == [run.id, replayed.id]
        await off(client.runs.cancel, replayed.id)


async def test_errors_carry_the_api_sentence_and_code(module_api_process: ApiProcess) -> None:
    api = module_api_process
    job = job_id("errors")
    with Client(api.url, api_key=api.key) as client:
        await off(client.jobs.create, approval_job(job))
        cases: list[tuple[Callable[[], Any], int | None, str]] = [
            (
                lambda: client.runs.get("exec_00000000000000000000000000"),
                404,
                "execution_not_found",
            ),
            (lambda: client.runs.trigger("no-such-job"), 404, "workflow_not_found"),
            (lambda: client.runs.trigger(job, {"name": 5}), 422, "input_invalid"),
            (lambda: client.schedules.pause("sched_nope"), 404, "schedule_not_found"),
            (lambda: client.jobs.create(approval_job(job)), 409, "workflow_exists"),
            (lambda: client.runs.list(status="sideways").__next__(), 422, "invalid_filter"),
            # Refused by the wire model before anything is sent.
            (lambda: client.runs.trigger(job, priority=5000), None, "validation_error"),
        ]
        for call, status, code in cases:
            with pytest.raises(FerrymanError) as raised:
                await off(call)
            assert (raised.value.status, raised.value.code) == (status, code), raised.value
            assert str(raised.value) == f"{raised.value.message} ({code})"
        with pytest.raises(FerrymanError) as not_found:
            await off(client.runs.get, "exec_00000000000000000000000000")
        assert not_found.value.message == "execution not found"
        assert not_found.value.request_id

    with Client(api.url, api_key="fm_wrong") as stranger, pytest.raises(FerrymanError) as denied:
        await off(stranger.jobs.list)
    assert (denied.value.status, denied.value.code) == (401, "invalid_api_key")

    nowhere = f"http://127.0.0.1:{free_port()}"
    with (
        Client(nowhere, api_key=api.key, max_retries=1) as lost,
        pytest.raises(FerrymanError) as unreachable,
    ):
        await off(lost.jobs.list)
    assert (unreachable.value.status, unreachable.value.code) == (None, "unreachable")
    assert nowhere in unreachable.value.message


async def test_a_trigger_whose_answer_is_lost_is_sent_again_and_starts_one_run(
    module_api_process: ApiProcess,
) -> None:
    api = module_api_process
    job = job_id("retried")
    with Client(api.url, api_key=api.key) as direct:
        await off(direct.jobs.create, approval_job(job))
        async with proxy_to(api.url) as proxy:
            proxy.lose_answers(1)
            # A client of its own: its first request opens the connection that loses.
            with Client(proxy.url, api_key=api.key) as client:
                run = await off(client.runs.trigger, job, {"name": "Cy"})
            assert proxy.connections == 2  # the lost answer, then the retry
            runs = await every(direct.runs.list(job_id=job))
            assert [r.id for r in runs] == [run.id]

            # A pause is not repeatable: its lost answer is an error, not a second pause.
            await reaches(direct, run.id, "waiting")
            proxy.lose_answers(1)
            with Client(proxy.url, api_key=api.key) as client, pytest.raises(FerrymanError) as lost:
                await off(client.runs.pause, run.id)
            assert lost.value.code == "unreachable" and proxy.connections == 3
        # It did reach the API: the run is paused.
        await reaches(direct, run.id, "paused")
        await off(direct.runs.cancel, run.id)
