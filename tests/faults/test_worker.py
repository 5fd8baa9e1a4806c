"""A worker killed mid-execution loses nothing: a new worker finishes the execution."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError

from ferryman import search_attributes as sa
from ferryman.settings import Settings
from ferryman.temporal import has_pollers
from ferryman.workflows import models as m
from ferryman.workflows.memo import Key
from tests.support.executions import start_execution
from tests.support.http_target import HITS
from tests.support.polling import eventually
from tests.support.processes import spawn_worker


@pytest.fixture
def worker_settings(base_settings: Settings) -> Settings:
    # A task queue of its own, so the in-process session worker cannot pick the work up.
    return base_settings.model_copy(update={"task_queue": f"durability-{uuid.uuid4().hex[:8]}"})


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


async def test_sigkilled_worker_loses_no_execution(
    temporal_client: Client,
    worker_settings: Settings,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    document = {
        "name": "Durable",
        "steps": [
            {"id": "first", "kind": "activity", "activity": "test.echo", "with": {"n": 1}},
            {"id": "nap", "kind": "sleep", "depends_on": ["first"], "with": {"seconds": 2}},
            {
                "id": "last",
                "kind": "transform",
                "depends_on": ["nap"],
                "with": {"value": "{{ steps.first.output.n + 1 }}"},
            },
        ],
        "output": "{{ steps.last.output }}",
    }
    workers.append(spawn_worker(worker_settings))
    handle = await start_execution(temporal_client, worker_settings, document)

    async def checkpoints() -> list[Any]:
        return list((await (await handle.describe()).memo()).get(Key.CHECKPOINTS, []))

    # Kill the worker while the execution sleeps, after `first` has been checkpointed.
    await eventually(checkpoints, lambda index: [c[1] for c in index] == ["start", "first"])
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait()

    workers.append(spawn_worker(worker_settings))
    result = await handle.result()
    assert result.output == 2
    assert [c[1] for c in await checkpoints()] == ["start", "first", "nap", "last"]


async def test_a_worker_killed_under_a_local_step_loses_nothing(
    temporal_client: Client,
    worker_settings: Settings,
    workers: list[subprocess.Popen[bytes]],
    http_target: str,
) -> None:
    """An `http` step runs as a local activity, inside its workflow task: the worker dies
    mid-request, the task times out, and another worker runs the attempt again."""
    path = f"/once-slow/{uuid.uuid4().hex}"
    document = {
        "name": "Local",
        "steps": [
            {"id": "call", "kind": "http", "with": {"url": f"{http_target}{path}?secs=60"}},
            {
                "id": "after",
                "kind": "transform",
                "depends_on": ["call"],
                "with": {"value": "{{ steps.call.output.json.calls }}"},
            },
        ],
        "output": "{{ steps.after.output }}",
    }
    workers.append(spawn_worker(worker_settings))
    handle = await start_execution(temporal_client, worker_settings, document)
    # The first request hangs (the endpoint sleeps on its first call): kill its worker.
    await eventually(lambda: asyncio.sleep(0, HITS[path]), lambda hits: hits == 1)
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait()
    workers.append(spawn_worker(worker_settings))
    result = await handle.result()
    assert result.output == 2  # the second call answered
    assert HITS[path] == 2


async def test_a_step_whose_last_attempt_is_lost_ends_crashed_within_the_heartbeat_timeout(
    temporal_client: Client,
    worker_settings: Settings,
    workers: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    """The lost attempt shows after the heartbeat timeout (2 s here), not the start-to-close
    timeout (300 s): with no attempt left, the step ends `crashed`. `test.quiet` never
    heartbeats itself: the worker heartbeats for it while it runs."""
    document = {
        "name": "Lost",
        "defaults": {"heartbeat_secs": 2, "retry": {"max_attempts": 1}},
        "steps": [
            {
                "id": "work",
                "kind": "activity",
                "activity": "test.quiet",
                "with": {"seconds": 120, "marks": str(tmp_path)},
            }
        ],
    }
    workers.append(spawn_worker(worker_settings))
    handle = await start_execution(temporal_client, worker_settings, document)
    await eventually(lambda: asyncio.to_thread(lambda: list(tmp_path.iterdir())), bool)
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait()
    killed = time.monotonic()
    workers.append(spawn_worker(worker_settings))
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert time.monotonic() - killed < 30
    error = (await (await handle.describe()).memo())[Key.ERROR]
    assert error["error"] == "crashed" and error["step_id"] == "work"
    assert "heartbeat" in error["error_cause"]


async def test_sigterm_drains_and_exits_cleanly(
    temporal_client: Client, worker_settings: Settings, workers: list[subprocess.Popen[bytes]]
) -> None:
    process = spawn_worker(worker_settings)
    workers.append(process)
    queue = worker_settings.task_queue
    await eventually(lambda: has_pollers(temporal_client, queue), lambda polling: polling)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


def _fifty_definition(marks: Path) -> dict[str, Any]:
    def work(step: str, n: str, after: str | None) -> dict[str, Any]:
        return {
            "id": step,
            "kind": "activity",
            "activity": "test.work",
            "with": {"n": n, "seconds": 0.5, "marks": str(marks)},
            # A killed worker's attempt is noticed by its missing heartbeats, then retried.
            "heartbeat_secs": 2,
            "retry": {"max_attempts": 5, "backoff": "fixed", "initial_delay_secs": 0.2},
            **({"depends_on": [after]} if after else {}),
        }

    return {
        "name": "Many",
        "steps": [
            work("first", "{{ input.n }}", None),
            work("second", "{{ steps.first.output.n * 2 }}", "first"),
            {
                "id": "last",
                "kind": "transform",
                "depends_on": ["second"],
                "with": {"value": "{{ steps.second.output.n + 1 }}"},
            },
        ],
        "output": "{{ steps.last.output }}",
    }


async def test_fifty_executions_survive_two_worker_kills_mid_step(
    temporal_client: Client,
    worker_settings: Settings,
    workers: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    document = _fifty_definition(tmp_path)
    workers.append(spawn_worker(worker_settings))
    handles = [
        await start_execution(temporal_client, worker_settings, document, n=n) for n in range(50)
    ]
    started_at_kills: set[str] = set()
    for step in ("first", "second"):  # each kill lands once that step's attempts run
        started_at_kills |= await eventually(
            partial(asyncio.to_thread, _started, tmp_path, step),
            lambda found: bool(found),
            timeout=60,
        )
        workers[-1].send_signal(signal.SIGKILL)
        workers[-1].wait()
        workers.append(spawn_worker(worker_settings))

    results = await asyncio.gather(*(handle.result() for handle in handles))
    assert [result.output for result in results] == [2 * n + 1 for n in range(50)]
    for handle in handles:
        index = (await (await handle.describe()).memo())[Key.CHECKPOINTS]
        assert sorted(entry[1] for entry in index) == ["first", "last", "second", "start"]
    # The attempts the kills cut short ran again: activities may run more than once, and
    # their step still has one output.
    reruns = {mark for mark in started_at_kills if (tmp_path / f"{mark}.2").exists()}
    assert reruns, "no kill landed while an attempt was running"


def _started(marks: Path, step: str) -> set[str]:
    """`execution.step` of the attempts of `step` that have started."""
    return {p.name.rsplit(".", 1)[0] for p in marks.glob(f"*.{step}.1")}


async def test_a_slot_held_by_a_run_whose_worker_dies_is_freed_when_that_run_ends(
    temporal_client: Client,
    worker_settings: Settings,
    workers: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    """Limit 1: the holder's worker is SIGKILLed mid-step. The run lives on (Temporal hands
    it to the new worker), its lost last attempt ends it `crashed`, and that close frees
    its slot: the queued run starts and completes. No slot leaks, none is given twice."""
    slot = m.ConcurrencySlot(key=f"faults-{uuid.uuid4().hex[:8]}", limit=1)
    holder_document = {
        "name": "Holder",
        "defaults": {"heartbeat_secs": 2, "retry": {"max_attempts": 1}},
        "steps": [
            {
                "id": "work",
                "kind": "activity",
                "activity": "test.quiet",
                "with": {"seconds": 120, "marks": str(tmp_path)},
            }
        ],
    }
    waiter_document = {
        "name": "Waiter",
        "steps": [{"id": "done", "kind": "transform", "with": {"value": 1}}],
        "output": "{{ steps.done.output }}",
    }
    workers.append(spawn_worker(worker_settings))
    holder = await start_execution(
        temporal_client, worker_settings, holder_document, run=m.RunSettings(concurrency=slot)
    )
    await eventually(lambda: asyncio.to_thread(lambda: list(tmp_path.iterdir())), bool)
    waiter = await start_execution(
        temporal_client, worker_settings, waiter_document, run=m.RunSettings(concurrency=slot)
    )
    queued = await eventually(
        lambda: waiter.describe(), lambda d: d.typed_search_attributes.get(sa.STATUS) == "queued"
    )
    assert queued.typed_search_attributes.get(sa.CONCURRENCY_KEY) == slot.key

    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait()
    workers.append(spawn_worker(worker_settings))
    with pytest.raises(WorkflowFailureError):
        await holder.result()
    error = (await (await holder.describe()).memo())[Key.ERROR]
    assert error["error"] == "crashed"
    result = await waiter.result()
    assert result.status == "completed" and result.output == 1
