"""A worker killed mid-execution loses nothing: a new worker finishes the execution."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from temporalio.client import Client

from ferryman.settings import Settings
from ferryman.workflows import models as m
from ferryman.workflows.dsl import WorkflowDefinition
from tests.conftest import ROOT
from tests.helpers import eventually


@pytest.fixture
def worker_settings(base_settings: Settings) -> Settings:
    # A task queue of its own, so the in-process session worker cannot pick the work up.
    return base_settings.model_copy(update={"task_queue": f"durability-{uuid.uuid4().hex[:8]}"})


def spawn_worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "FERRYMAN_TASK_QUEUE": settings.task_queue,
        "FERRYMAN_DATA_DIR": str(settings.data_dir),
        "FERRYMAN_ACTIVITY_MODULES": "tests.fixtures_activities",
        "FERRYMAN_GRACEFUL_SHUTDOWN_SECS": "5",
    }
    log = open(settings.data_dir / f"{settings.task_queue}.log", "ab")  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, str(ROOT / "worker.py")], cwd=ROOT, env=env, stdout=log, stderr=log
    )


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
    definition = WorkflowDefinition.model_validate(
        {
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
    )
    execution_id = f"exec_durable_{uuid.uuid4().hex}"
    workers.append(spawn_worker(worker_settings))
    handle = await temporal_client.start_workflow(
        "ExecutionWorkflow",
        m.ExecutionInput(
            execution_id=execution_id,
            project_id="p",
            workflow_id="durable",
            workflow_name="Durable",
            version=1,
            definition=definition,
        ),
        id=execution_id,
        result_type=m.ExecutionResult,
        task_queue=worker_settings.task_queue,
    )

    async def checkpoints() -> list[Any]:
        return list((await (await handle.describe()).memo()).get(m.MEMO_CHECKPOINTS, []))

    # Kill the worker while the execution sleeps, after `first` has been checkpointed.
    await eventually(checkpoints, lambda index: [c[1] for c in index] == ["start", "first"])
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait()

    workers.append(spawn_worker(worker_settings))
    result = await handle.result()
    assert result.output == 2
    assert [c[1] for c in await checkpoints()] == ["start", "first", "nap", "last"]


async def test_sigterm_drains_and_exits_cleanly(
    worker_settings: Settings, workers: list[subprocess.Popen[bytes]]
) -> None:
    process = spawn_worker(worker_settings)
    workers.append(process)
    await eventually(lambda: _has_poller(worker_settings), lambda polling: polling, timeout=30)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


async def _has_poller(settings: Settings) -> bool:
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    from ferryman.temporal import connect

    client = await connect(settings)
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=settings.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return bool(response.pollers)
