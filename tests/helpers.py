"""Test helpers: polling (tests wait for a condition, never for a fixed time) and starting
an ExecutionWorkflow directly on Temporal, without the API."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowHandle

from ferryman.api.executions.launch import Lineage, start_run
from ferryman.readiness import wait_until
from ferryman.settings import Settings
from ferryman.workflows import models as m
from ferryman.workflows.dsl import WorkflowDefinition
from ferryman.workflows.execution import ExecutionWorkflow
from ferryman.workflows.snapshot import DefinitionSnapshot

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    check: Callable[[T], bool],
    timeout: float = 30.0,
    interval: float = 0.1,
) -> T:
    """Call `probe` until `check` holds on its answer; fail with the last answer."""
    last: list[T] = []  # the latest answer, for the failure

    async def checked() -> tuple[T] | None:
        last[:] = [await probe()]
        return (last[0],) if check(last[0]) else None  # in a tuple, a falsy answer counts too

    try:
        (value,) = await wait_until(checked, timeout=timeout, interval=interval, what="a check")
    except TimeoutError:
        seen = repr(last[0]) if last else "none yet"
        raise AssertionError(f"condition not met within {timeout}s; last value: {seen}") from None
    return value


async def start_execution(
    client: Client,
    settings: Settings,
    document: dict[str, Any],
    *,
    execution_id: str | None = None,
    project_id: str = "p",
    workflow_id: str = "test",
    **input_data: Any,
) -> WorkflowHandle[ExecutionWorkflow, m.ExecutionResult]:
    """Start `document` (named "Test" unless it says otherwise) on `settings.task_queue`,
    validated and launched as the API does, without the metadata database."""
    execution_id = execution_id or f"exec_test_{uuid.uuid4().hex}"
    definition = WorkflowDefinition.model_validate({"name": "Test", **document})
    params = m.ExecutionInput(
        execution_id=execution_id,
        project_id=project_id,
        workflow_id=workflow_id,
        workflow_name=definition.name,
        version=1,
        definition=DefinitionSnapshot.of(definition, settings.heartbeat_secs),
        input=input_data,
    )
    await start_run(client, settings.task_queue, params, Lineage())
    return client.get_workflow_handle_for(ExecutionWorkflow.run, execution_id)
