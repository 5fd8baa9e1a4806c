"""Launching executions: a new one from a definition, or a run restored from another's state.

A surface builds one `LaunchRequest` at the HTTP boundary; everything below works from it.
Each run starts with its search attributes (status `queued` until a worker picks it up, or
`paused` for a run restored paused) and its start memo, and never as a duplicate: a fresh
id rejects a second run (a retried start finds the first), a rollback reuses its closed
execution's id on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from ferryman import search_attributes as sa
from ferryman.api.codes import ErrorCode
from ferryman.api.definitions import DefinitionService
from ferryman.api.errors import Conflict, temporal_error
from ferryman.settings import Settings
from ferryman.statuses import Status
from ferryman.workflows import memo
from ferryman.workflows import models as m
from ferryman.workflows.checkpoints import Checkpoint


@dataclass(frozen=True)
class LaunchRequest:
    """What a caller asks to start."""

    project_id: str
    workflow_id: str
    input: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    version: int | None = None


@dataclass(frozen=True)
class Lineage:
    """How a run relates to others: replays continue a source; rollbacks keep their id."""

    triggered_by: str = "manual"
    continuation_of: str | None = None
    depth: int = 0
    created_at: datetime | None = None


@dataclass(frozen=True)
class Launched:
    execution_id: str
    workflow_id: str
    status: Status
    created_at: datetime


class Launcher:
    def __init__(self, client: Client, settings: Settings, definitions: DefinitionService):
        self.client = client
        self.settings = settings
        self.definitions = definitions

    async def launch(self, request: LaunchRequest, execution_id: str) -> Launched:
        """Start an execution of a definition. Safe to retry with the same id."""
        resolved = await self.definitions.resolve(
            request.project_id, request.workflow_id, request.version
        )
        self.definitions.check_input(resolved.parsed.definition, request.input, request.metadata)
        params = m.ExecutionInput(
            execution_id=execution_id,
            project_id=request.project_id,
            workflow_id=request.workflow_id,
            workflow_name=resolved.parsed.snapshot.name,
            version=resolved.version,
            definition=resolved.parsed.snapshot,
            input=request.input,
            metadata=request.metadata,
            step_output_limit_bytes=self.settings.step_output_limit_bytes,
        )
        return await self.start(params, Lineage())

    async def start(
        self, params: m.ExecutionInput, lineage: Lineage, rollback: bool = False
    ) -> Launched:
        return await start_run(self.client, self.settings.task_queue, params, lineage, rollback)


async def start_run(
    client: Client,
    task_queue: str,
    params: m.ExecutionInput,
    lineage: Lineage,
    rollback: bool = False,
) -> Launched:
    """Start a run of ExecutionWorkflow with its attributes and start memo."""
    created_at = lineage.created_at or datetime.now(UTC)
    paused = params.restored is not None and params.restored.paused
    status = Status.PAUSED if paused else Status.QUEUED
    try:
        # The type is the definition's id (NamedExecutionWorkflow runs it): the Temporal UI
        # and CLI list executions by the workflow users wrote, not one generic type.
        await client.start_workflow(
            params.workflow_id,
            params,
            id=params.execution_id,
            task_queue=task_queue,
            search_attributes=_attributes(params, lineage, status),
            memo=_start_memo(params, created_at),
            static_summary=f"{params.workflow_name} v{params.version} ({params.workflow_id})",
            id_reuse_policy=(
                WorkflowIDReusePolicy.ALLOW_DUPLICATE
                if rollback
                else WorkflowIDReusePolicy.REJECT_DUPLICATE
            ),
            id_conflict_policy=(
                WorkflowIDConflictPolicy.FAIL if rollback else WorkflowIDConflictPolicy.USE_EXISTING
            ),
        )
    except WorkflowAlreadyStartedError as err:
        # REJECT_DUPLICATE: the id's first run exists and has closed. For a retried
        # (idempotent) start that is success; a rollback run is never a duplicate.
        if rollback:
            raise Conflict(
                "execution changed meanwhile; read it and try again",
                ErrorCode.EXECUTION_CHANGED,
            ) from err
    except RPCError as err:
        raise temporal_error(err) from err
    return Launched(params.execution_id, params.workflow_id, status, created_at)


def _attributes(
    params: m.ExecutionInput, lineage: Lineage, status: Status
) -> TypedSearchAttributes:
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(sa.STATUS, status.value),
        SearchAttributePair(sa.PROJECT, params.project_id),
        SearchAttributePair(sa.WORKFLOW, params.workflow_id),
        SearchAttributePair(sa.VERSION, str(params.version)),
        SearchAttributePair(sa.TRIGGERED_BY, lineage.triggered_by),
        SearchAttributePair(sa.LINEAGE_DEPTH, lineage.depth),
    ]
    if lineage.continuation_of:
        pairs.append(SearchAttributePair(sa.CONTINUATION_OF, lineage.continuation_of))
    return TypedSearchAttributes(pairs)


def _start_memo(params: m.ExecutionInput, created_at: datetime) -> dict[str, Any]:
    kept = [Checkpoint.from_inline(d) for d in (params.restored.deltas if params.restored else [])]
    return memo.start(
        workflow_name=params.workflow_name,
        version=params.version,
        created_at=created_at,
        input_data=params.input,
        metadata=params.metadata,
        wait_signals=sorted(params.definition.wait_signals()),
        # A restored run lists the checkpoints it keeps before a worker runs it.
        index=[memo.IndexEntry(c.sequence, c.step_id, c.created_at) for c in kept],
    )
