"""Starting an ExecutionWorkflow directly on Temporal, without the API: the one way tests do,
through the production launcher (`start_run`)."""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.client import Client, WorkflowHandle

from ferryman.api.executions.launch import Lineage, start_run
from ferryman.settings import Settings
from ferryman.workflows import models as m
from ferryman.workflows.dsl import WorkflowDefinition
from ferryman.workflows.execution import ExecutionWorkflow
from ferryman.workflows.snapshot import DefinitionSnapshot

ExecutionHandle = WorkflowHandle[ExecutionWorkflow, m.ExecutionResult]


async def start_execution(
    client: Client,
    settings: Settings,
    document: dict[str, Any],
    *,
    execution_id: str | None = None,
    project_id: str = "p",
    workflow_id: str = "test",
    run: m.RunSettings | None = None,
    **input_data: Any,
) -> ExecutionHandle:
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
        run=run,
    )
    await start_run(client, settings.task_queue, params, Lineage())
    return client.get_workflow_handle_for(ExecutionWorkflow.run, execution_id)
