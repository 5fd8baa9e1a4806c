"""Launching executions: a new one from a definition, or a run restored from another's state.

A surface builds one `LaunchRequest` at the HTTP boundary; everything below works from it.
Each run starts with its search attributes (status `queued` until a worker picks it up, or
`paused` for a run restored paused; project, job, version, trigger, batch, tags, priority,
the payload's containment index) and its start memo (what lists show without a history
read), and never as a duplicate: a fresh id rejects a second run (a retried start finds the
first), a rollback or a redrive reuses its closed execution's id on purpose.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args

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
from ferryman.api.errors import Conflict, InvalidInput, temporal_error
from ferryman.api.executions import payload_index
from ferryman.settings import Settings
from ferryman.statuses import Status
from ferryman.workflows import memo
from ferryman.workflows import models as m
from ferryman.workflows.checkpoints import Checkpoint
from ferryman.workflows.snapshot import DefinitionSnapshot

MAX_TAGS_BYTES = 1024  # tags live in a KeywordList attribute (2 KB at most, all of it)
# How a run came to be: by hand, a cron schedule, a parent run, a workflow step, a replay
# or restart, an event.
TriggeredBy = Literal["manual", "cron", "spawn", "workflow", "retry", "event"]
TRIGGERS: tuple[str, ...] = get_args(TriggeredBy)


@dataclass(frozen=True)
class Overrides:
    """Run-level retry and timeout settings a trigger may impose on every step."""

    max_attempts: int | None = None
    timeout_secs: float | None = None
    retry_backoff: str | None = None
    retry_initial_delay_secs: float | None = None
    retry_max_delay_secs: float | None = None

    def given(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if value is not None}

    def apply(self, snapshot: DefinitionSnapshot) -> DefinitionSnapshot:
        """The snapshot with these settings on the defaults and on every step."""
        retry = {
            name: value
            for name, value in (
                ("max_attempts", self.max_attempts),
                ("backoff", self.retry_backoff),
                ("initial_delay_secs", self.retry_initial_delay_secs),
                ("max_delay_secs", self.retry_max_delay_secs),
            )
            if value is not None
        }
        if not retry and self.timeout_secs is None:
            return snapshot
        copy = snapshot.model_copy(deep=True)
        copy.defaults.retry = copy.defaults.retry.model_copy(update=retry)
        if self.timeout_secs is not None:
            copy.defaults.timeout_secs = self.timeout_secs
        for step in copy.steps:
            if step.retry is not None:
                step.retry = step.retry.model_copy(update=retry)
            if self.timeout_secs is not None:
                step.timeout_secs = self.timeout_secs
        return copy


@dataclass(frozen=True)
class LaunchRequest:
    """What a caller asks to start."""

    project_id: str
    workflow_id: str
    input: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    version: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    priority: int = 0
    batch_id: str | None = None
    idempotency_key: str | None = None
    created_by: str | None = None  # the id of the API key that asked
    triggered_by: str = "manual"
    debug_mode: bool = False
    overrides: Overrides = field(default_factory=Overrides)
    continuation_of: str | None = None
    lineage_depth: int = 0


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
        check_tags(request.tags)
        resolved = await self.definitions.resolve(
            request.project_id, request.workflow_id, request.version
        )
        self.definitions.check_input(resolved.parsed.definition, request.input, request.metadata)
        snapshot = request.overrides.apply(resolved.parsed.snapshot)
        params = m.ExecutionInput(
            execution_id=execution_id,
            project_id=request.project_id,
            workflow_id=request.workflow_id,
            workflow_name=snapshot.name,
            version=resolved.version,
            definition=snapshot,
            input=request.input,
            metadata=request.metadata,
            step_output_limit_bytes=self.settings.step_output_limit_bytes,
            debug_mode=request.debug_mode,
        )
        lineage = Lineage(
            triggered_by=request.triggered_by,
            continuation_of=request.continuation_of,
            depth=request.lineage_depth,
        )
        run = run_record(request, resolved.version_id, snapshot)
        return await self.start(params, lineage, run=run, request=request)

    async def start(
        self,
        params: m.ExecutionInput,
        lineage: Lineage,
        *,
        rollback: bool = False,
        run: dict[str, Any] | None = None,
        request: LaunchRequest | None = None,
        supersedes: str | None = None,
    ) -> Launched:
        return await start_run(
            self.client,
            self.settings.task_queue,
            params,
            lineage,
            rollback=rollback,
            run=run,
            request=request,
            supersedes=supersedes,
        )


def check_tags(tags: dict[str, str]) -> None:
    size = len(json.dumps(tags_attribute(tags)).encode())
    if size > MAX_TAGS_BYTES:
        raise InvalidInput(
            f"tags take {size} bytes, over the limit of {MAX_TAGS_BYTES}",
            ErrorCode.VALIDATION_ERROR,
        )


def tags_attribute(tags: dict[str, str]) -> list[str]:
    """Tags as the KeywordList filters match: one `key=value` item per tag."""
    return [f"{key}={value}" for key, value in sorted(tags.items())]


def run_record(
    request: LaunchRequest, version_id: str | None, snapshot: DefinitionSnapshot
) -> dict[str, Any]:
    """What the trigger asked for, and the run-level settings in force, for the memo."""
    retry = snapshot.defaults.retry
    return {
        "tags": dict(request.tags),
        "idempotency_key": request.idempotency_key,
        "created_by": request.created_by,
        "job_version_id": version_id,
        "overrides": request.overrides.given(),
        "retry": {
            "max_attempts": retry.max_attempts,
            "backoff": retry.backoff,
            "initial_delay_secs": retry.initial_delay_secs,
            "max_delay_secs": retry.max_delay_secs,
        },
        "timeout_secs": snapshot.defaults.timeout_secs,
        "debug_mode": request.debug_mode,
    }


async def start_run(
    client: Client,
    task_queue: str,
    params: m.ExecutionInput,
    lineage: Lineage,
    *,
    rollback: bool = False,
    run: dict[str, Any] | None = None,
    request: LaunchRequest | None = None,
    supersedes: str | None = None,
) -> Launched:
    """Start a run of the interpreter with its attributes and start memo. A rollback or a
    redrive names the closed run it `supersedes` (deleted once this one has started)."""
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
            search_attributes=_attributes(params, lineage, status, request, supersedes),
            memo=_start_memo(params, created_at, run),
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
    params: m.ExecutionInput,
    lineage: Lineage,
    status: Status,
    request: LaunchRequest | None,
    supersedes: str | None,
) -> TypedSearchAttributes:
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(sa.STATUS, status.value),
        SearchAttributePair(sa.PROJECT, params.project_id),
        SearchAttributePair(sa.WORKFLOW, params.workflow_id),
        SearchAttributePair(sa.VERSION, str(params.version)),
        SearchAttributePair(sa.TRIGGERED_BY, lineage.triggered_by),
        SearchAttributePair(sa.LINEAGE_DEPTH, lineage.depth),
        SearchAttributePair(sa.PAYLOAD_INDEX, payload_index.index_tokens(params.input)),
    ]
    if lineage.continuation_of:
        pairs.append(SearchAttributePair(sa.CONTINUATION_OF, lineage.continuation_of))
    if supersedes:
        pairs.append(SearchAttributePair(sa.SUPERSEDES, supersedes))
    if request is not None:
        pairs.append(SearchAttributePair(sa.PRIORITY, request.priority))
        if request.tags:
            pairs.append(SearchAttributePair(sa.TAGS, tags_attribute(request.tags)))
        if request.batch_id:
            pairs.append(SearchAttributePair(sa.BATCH, request.batch_id))
    return TypedSearchAttributes(pairs)


def _start_memo(
    params: m.ExecutionInput, created_at: datetime, run: dict[str, Any] | None
) -> dict[str, Any]:
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
        run=run,
    )
