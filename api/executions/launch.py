"""Launching executions: a new one from a definition, or a run restored from another's state.

A surface builds one `LaunchRequest` at the HTTP boundary; everything below works from it.
Each run starts with its search attributes (status `queued` until a worker picks it up, or
`paused` for a run restored paused; project, job, version, trigger, batch, tags, priority,
the payload's containment index) and its start memo (what lists show without a history
read), and never as a duplicate: a fresh id rejects a second run (a retried start finds the
first), a rollback or a redrive reuses its closed execution's id on purpose.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from ferryman import metrics
from ferryman.api.codes import ErrorCode
from ferryman.api.definitions import DefinitionService, Resolved
from ferryman.api.errors import ApiError, temporal_error
from ferryman.api.executions import visibility
from ferryman.logging import note_run
from ferryman.settings import Settings
from ferryman.statuses import Status
from ferryman.workflows import models as m
from ferryman.workflows import runs
from ferryman.workflows.dsl import WorkflowDefinition
from ferryman.workflows.snapshot import DefinitionSnapshot
from ferryman.workflows.templating import TemplateError, render

MAX_TAGS_BYTES = 1024  # tags as JSON; their tokens fill at most 1.2 of the attribute's 2 KB
MAX_CONCURRENCY_KEY = 256  # a Keyword attribute, and part of the gate workflow's id
# How a run came to be: by hand, a cron schedule, a parent run, a workflow step, a replay
# or restart, an event.
TriggeredBy = Literal["manual", "cron", "spawn", "workflow", "retry", "event"]
TRIGGERS: tuple[str, ...] = get_args(TriggeredBy)
START_CONCURRENCY = 10  # starts in flight at once for `launch_all`


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
    scheduled_at: datetime | None = None
    expires_at: datetime | None = None
    concurrency_key: str | None = None
    parent_run_id: str | None = None  # spawned by a parent run's `workflow` step
    workflow_step_run_id: str | None = None  # `<parent run>:<step>:<attempt>`


@dataclass(frozen=True)
class Lineage:
    """How a run relates to others: replays continue a source; rollbacks keep their id."""

    triggered_by: str = "manual"
    continuation_of: str | None = None
    depth: int = 0
    created_at: datetime | None = None

    @classmethod
    def of(cls, request: LaunchRequest) -> Lineage:
        return cls(
            triggered_by=request.triggered_by,
            continuation_of=request.continuation_of,
            depth=request.lineage_depth,
        )


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

    async def admit(self, project_id: str, workflow_id: str, version: int | None) -> Resolved:
        """The one admission check of a new run: its job exists and is enabled (409 when
        disabled). Every path that starts one passes here: `prepare` (a trigger, a restart,
        a batch, a schedule's action, a child run) and `start` (a replay, whose input comes
        from its source's history)."""
        resolved = await self.definitions.resolve(project_id, workflow_id, version)
        if resolved.disabled:
            raise ApiError(
                f"workflow {workflow_id!r} is disabled; enable it to start executions",
                ErrorCode.WORKFLOW_DISABLED,
            )
        return resolved

    async def launch(self, request: LaunchRequest, execution_id: str) -> Launched:
        """Start an execution of a definition. Safe to retry with the same id."""
        return (await self.launch_all([(request, execution_id)]))[0]

    async def launch_all(self, requests: Sequence[tuple[LaunchRequest, str]]) -> list[Launched]:
        """Start executions of definitions (each request with its id), all or nothing:
        every one is checked (`prepare`) before any starts, so one refused starts none."""
        prepared = [await self.prepare(request, run_id) for request, run_id in requests]
        gate = asyncio.Semaphore(START_CONCURRENCY)

        async def start(request: LaunchRequest, params: m.ExecutionInput, run: Any) -> Launched:
            async with gate:  # admitted by `prepare`
                queue = self.settings.task_queue
                return await start_run(self.client, queue, params, Lineage.of(request), run=run)

        starts = (start(r, *p) for (r, _), p in zip(requests, prepared, strict=True))
        return list(await asyncio.gather(*starts))

    async def prepare(
        self, request: LaunchRequest, execution_id: str
    ) -> tuple[m.ExecutionInput, dict[str, Any]]:
        """The input of a new run and its trigger record (the memo's `run`), checked: the
        run admitted (`admit`), the input against its schema, the tags within their limit."""
        check_tags(request.tags)
        resolved = await self.admit(request.project_id, request.workflow_id, request.version)
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
            memo_summary_limit_bytes=self.settings.memo_summary_limit_bytes,
            debug_mode=request.debug_mode,
            run=await self._settings(request, resolved.parsed.definition),
        )
        return params, run_record(request, resolved.version_id, snapshot)

    async def _settings(
        self, request: LaunchRequest, definition: WorkflowDefinition
    ) -> m.RunSettings:
        """The run's admission settings: the trigger's, with the definition's concurrency
        limit (its key rendered over this input) and the job's dependencies."""
        return m.RunSettings(
            priority=request.priority,
            tags=dict(request.tags),
            batch_id=request.batch_id,
            scheduled_at=request.scheduled_at,
            expires_at=request.expires_at,
            concurrency=concurrency_slot(request, definition),
            dependencies=await self.definitions.dependencies(
                request.project_id, request.workflow_id
            ),
            parent_run_id=request.parent_run_id,
            workflow_step_run_id=request.workflow_step_run_id,
        )

    async def start(
        self,
        params: m.ExecutionInput,
        lineage: Lineage,
        *,
        rollback: bool = False,
        run: dict[str, Any] | None = None,
        supersedes: str | None = None,
    ) -> Launched:
        """Start a run whose input was built elsewhere: a new run (a replay) is admitted
        first; a rollback or a redrive runs its own closed execution again, no new run."""
        if not rollback:
            await self.admit(params.project_id, params.workflow_id, params.version)
        return await start_run(
            self.client,
            self.settings.task_queue,
            params,
            lineage,
            rollback=rollback,
            run=run,
            supersedes=supersedes,
        )


def concurrency_slot(
    request: LaunchRequest, definition: WorkflowDefinition
) -> m.ConcurrencySlot | None:
    """The slot a run needs: the definition's `concurrency.limit` per key, the key being the
    trigger's `concurrency_key`, else the definition's key template rendered over the input,
    else the job id. A trigger's key without a limit in the definition only labels the run."""
    limit = definition.concurrency.limit if definition.concurrency else None
    key = request.concurrency_key
    if key is None and definition.concurrency is not None:
        key = concurrency_key(definition.concurrency.key, request) or request.workflow_id
    if key is None:
        return None
    return m.ConcurrencySlot(key=key, limit=limit)


def concurrency_key(template: str | None, request: LaunchRequest) -> str | None:
    if template is None:
        return None
    try:
        key = render(template, {"input": request.input, "metadata": request.metadata})
    except TemplateError as err:
        raise ApiError(
            f"the job's concurrency key {template!r} cannot be rendered for this payload: {err}",
            ErrorCode.VALIDATION_ERROR,
        ) from err
    text = "" if key is None else str(key)
    if len(text) > MAX_CONCURRENCY_KEY:
        raise ApiError(
            f"the job's concurrency key renders to {len(text)} characters, over the limit "
            f"of {MAX_CONCURRENCY_KEY}",
            ErrorCode.VALIDATION_ERROR,
        )
    return text or None


def check_tags(tags: dict[str, str]) -> None:
    size = len(json.dumps(tags, ensure_ascii=False).encode())
    if size > MAX_TAGS_BYTES:
        raise ApiError(
            f"tags take {size} bytes, over the limit of {MAX_TAGS_BYTES}",
            ErrorCode.VALIDATION_ERROR,
        )


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


def static_summary(params: m.ExecutionInput) -> str:
    """What the Temporal UI shows of a run: the definition's name, version and id."""
    return f"{params.workflow_name} v{params.version} ({params.workflow_id})"


async def start_run(
    client: Client,
    task_queue: str,
    params: m.ExecutionInput,
    lineage: Lineage,
    *,
    rollback: bool = False,
    run: dict[str, Any] | None = None,
    supersedes: str | None = None,
) -> Launched:
    """Start a run of the interpreter with its attributes and start memo. A rollback or a
    redrive names the closed run it `supersedes` (deleted once this one has started)."""
    created_at = lineage.created_at or datetime.now(UTC)
    status = runs.initial_status(params, datetime.now(UTC))
    start = runs.RunStart(
        triggered_by=lineage.triggered_by,
        status=status,
        created_at=created_at,
        lineage_depth=lineage.depth,
        continuation_of=lineage.continuation_of,
        supersedes=supersedes,
        record=run,
    )
    try:
        # The type is the definition's id (NamedExecutionWorkflow runs it): the Temporal UI
        # and CLI list executions by the workflow users wrote, not one generic type.
        handle = await client.start_workflow(
            params.workflow_id,
            params,
            id=params.execution_id,
            task_queue=task_queue,
            search_attributes=runs.search_attributes(params, start),
            memo=runs.start_memo(params, start),
            static_summary=static_summary(params),
            priority=runs.task_priority(params.run.priority if params.run else 0),
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
            raise ApiError(
                "execution changed meanwhile; read it and try again",
                ErrorCode.EXECUTION_CHANGED,
            ) from err
    except RPCError as err:
        raise temporal_error(err) from err
    else:
        if _started(handle):
            metrics.API.run_started(params.project_id, params.workflow_id, lineage.triggered_by)
        if supersedes is not None:
            visibility.forget_superseded(params.project_id)
        note_run(params.execution_id)
    return Launched(params.execution_id, params.workflow_id, status, created_at)


def _started(handle: WorkflowHandle[Any, Any]) -> bool:
    """Whether this call started the run, or found it running (USE_EXISTING: a retried
    start). The SDK keeps Temporal's answer, whose `started` says, on the handle only."""
    response = getattr(handle, "_start_workflow_response", None)
    return bool(getattr(response, "started", True))
