"""The one place on the API side that talks to Temporal.

Endpoints become start / describe / list / count / signal / cancel / history calls here.
Temporal is the only store of execution state: rows are built from search attributes and
the memo (no describe per listed row); one execution is read with one `describe()`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from temporalio.api.common.v1 import WorkflowExecution as ProtoExecution
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DeleteWorkflowExecutionRequest,
    DescribeTaskQueueRequest,
)
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from ferryman import search_attributes as sa
from ferryman.api import schemas
from ferryman.api.errors import BadRequest, Conflict, InvalidInput, NotFound, temporal_error
from ferryman.api.events import EventTranslator
from ferryman.api.history import FoldedHistory, HistoryFolder
from ferryman.settings import Settings
from ferryman.statuses import (
    FAILURE_STATUSES,
    OPEN_STATUSES,
    TERMINAL_STATUSES,
    ExecutionStatus,
    Status,
    canonical_statuses,
    to_execution_status,
)
from ferryman.workflows import models as m
from ferryman.workflows.dsl import WorkflowDefinition

WORKFLOW_TYPE = "ExecutionWorkflow"
EXECUTION_ID = re.compile(r"^exec_[0-9A-HJKMNP-TV-Z]{26}$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
STUCK_ATTEMPTS = 3  # a step on this attempt or later shows as stuck (step_retrying)
PAGE_WINDOW = 1000  # page * page_size beyond this: use the cursor
# How Temporal answers a page token it did not issue (the dev server: UNKNOWN).
CURSOR_REFUSALS = (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.UNKNOWN, RPCStatusCode.INTERNAL)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_execution_id() -> str:
    """`exec_` + a ULID: 48 bits of milliseconds then 80 random bits, so ids sort by time."""
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "exec_" + "".join(reversed(chars))


def derive_status(temporal: WorkflowExecutionStatus | None, attribute: str | None) -> Status:
    """The true canonical status: the attribute, unless Temporal itself closed the run."""
    recorded = Status(attribute) if attribute and attribute in set(Status) else None
    if temporal in (None, WorkflowExecutionStatus.RUNNING):
        return recorded or Status.QUEUED
    if temporal == WorkflowExecutionStatus.COMPLETED:
        return recorded if recorded in (Status.COMPLETED, Status.CANCELED) else Status.COMPLETED
    if temporal == WorkflowExecutionStatus.FAILED:
        return recorded if recorded in FAILURE_STATUSES else Status.FAILED
    if temporal == WorkflowExecutionStatus.TIMED_OUT:
        return Status.TIMED_OUT
    if temporal in (WorkflowExecutionStatus.CANCELED, WorkflowExecutionStatus.TERMINATED):
        return Status.CANCELED
    return recorded or Status.EXECUTING


def execution_status(execution: WorkflowExecution) -> Status:
    """The canonical status of a listed or described run."""
    return derive_status(execution.status, execution.typed_search_attributes.get(sa.STATUS))


def status_clause(status: ExecutionStatus) -> str:
    """A visibility filter over both our attribute and Temporal's own status."""
    if status == ExecutionStatus.FAILED:
        return "ExecutionStatus = 'Failed'"
    if status == ExecutionStatus.TIMED_OUT:
        return "ExecutionStatus = 'TimedOut'"
    if status == ExecutionStatus.CANCELLED:
        return (
            "(ExecutionStatus IN ('Canceled', 'Terminated') OR "
            f"(ExecutionStatus = 'Completed' AND {sa.STATUS.name} = 'canceled'))"
        )
    if status == ExecutionStatus.COMPLETED:
        return f"(ExecutionStatus = 'Completed' AND {sa.STATUS.name} = 'completed')"
    values = ", ".join(f"'{s.value}'" for s in canonical_statuses(status))
    return f"(ExecutionStatus = 'Running' AND {sa.STATUS.name} IN ({values}))"


@dataclass
class Lineage:
    """How a run relates to others: replays continue a source; rollbacks keep their id."""

    triggered_by: str = "manual"
    continuation_of: str | None = None
    depth: int = 0
    created_at: datetime | None = None


class ExecutionService:
    def __init__(self, client: Client, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    # ---- start ------------------------------------------------------------------------

    async def start(
        self,
        *,
        project_id: str,
        workflow_id: str,
        version: int,
        definition: WorkflowDefinition,
        input_data: dict[str, Any],
        metadata: dict[str, Any],
        execution_id: str | None = None,
    ) -> tuple[str, datetime]:
        """Start an execution; returns its id and creation time. Safe to retry with the same id."""
        params = m.ExecutionInput(
            execution_id=execution_id or new_execution_id(),
            project_id=project_id,
            workflow_id=workflow_id,
            workflow_name=definition.name,
            version=version,
            definition=definition,
            input=input_data,
            metadata=metadata,
            step_output_limit_bytes=self.settings.step_output_limit_bytes,
        )
        return await self._start_run(params, Lineage())

    async def _start_run(
        self, params: m.ExecutionInput, lineage: Lineage, rollback: bool = False
    ) -> tuple[str, datetime]:
        """Start a run of ExecutionWorkflow. A fresh id rejects duplicates (a retried start
        finds the first run); a rollback reuses its closed execution's id on purpose."""
        created_at = lineage.created_at or datetime.now(UTC)
        definition = params.definition
        paused = params.restored is not None and params.restored.paused
        attributes: list[SearchAttributePair[Any]] = [
            SearchAttributePair(sa.STATUS, (Status.PAUSED if paused else Status.QUEUED).value),
            SearchAttributePair(sa.PROJECT, params.project_id),
            SearchAttributePair(sa.WORKFLOW, params.workflow_id),
            SearchAttributePair(sa.VERSION, str(params.version)),
            SearchAttributePair(sa.TRIGGERED_BY, lineage.triggered_by),
            SearchAttributePair(sa.LINEAGE_DEPTH, lineage.depth),
        ]
        if lineage.continuation_of:
            attributes.append(SearchAttributePair(sa.CONTINUATION_OF, lineage.continuation_of))
        try:
            await self.client.start_workflow(
                WORKFLOW_TYPE,
                params,
                id=params.execution_id,
                result_type=m.ExecutionResult,
                task_queue=self.settings.task_queue,
                search_attributes=TypedSearchAttributes(attributes),
                memo={
                    m.MEMO_WORKFLOW_NAME: definition.name,
                    m.MEMO_VERSION: params.version,
                    m.MEMO_CREATED_AT: created_at.isoformat(),
                    m.MEMO_INPUT: m.summary(params.input),
                    m.MEMO_METADATA: m.summary(params.metadata),
                    m.MEMO_WAIT_SIGNALS: sorted(definition.wait_signals()),
                    # A restored run lists the checkpoints it keeps before a worker runs it.
                    m.MEMO_CHECKPOINTS: [
                        [d["sequence"], d["step_id"], _epoch_ms(d["created_at"])]
                        for d in (params.restored.deltas if params.restored else [])
                    ],
                },
                static_summary=f"{definition.name} v{params.version} ({params.workflow_id})",
                id_reuse_policy=(
                    WorkflowIDReusePolicy.ALLOW_DUPLICATE
                    if rollback
                    else WorkflowIDReusePolicy.REJECT_DUPLICATE
                ),
                id_conflict_policy=(
                    WorkflowIDConflictPolicy.FAIL
                    if rollback
                    else WorkflowIDConflictPolicy.USE_EXISTING
                ),
            )
        except WorkflowAlreadyStartedError as err:
            # REJECT_DUPLICATE: the id's first run exists and has closed. For a retried
            # (idempotent) start that is success; a rollback run is never a duplicate.
            if rollback:
                raise Conflict("execution changed meanwhile; read it and try again") from err
        except RPCError as err:
            raise temporal_error(err) from err
        return params.execution_id, created_at

    # ---- read -------------------------------------------------------------------------

    def _handle(self, execution_id: str) -> WorkflowHandle[Any, Any]:
        if not EXECUTION_ID.match(execution_id):
            raise NotFound("execution not found")
        return self.client.get_workflow_handle(execution_id)

    async def describe(
        self, project_id: str, execution_id: str
    ) -> tuple[WorkflowHandle[Any, Any], WorkflowExecutionDescription]:
        """Describe an execution of the caller's project; 404 for anything else."""
        handle = self._handle(execution_id)
        try:
            description = await handle.describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise NotFound("execution not found") from err
            raise temporal_error(err) from err
        if (
            description.workflow_type != WORKFLOW_TYPE
            or description.typed_search_attributes.get(sa.PROJECT) != project_id
        ):
            raise NotFound("execution not found")
        return handle, description

    async def get(
        self, project_id: str, execution_id: str, include_step_results: bool = False
    ) -> schemas.Execution:
        handle, description = await self.describe(project_id, execution_id)
        execution = await self._row(description)
        if execution.stuck is None and execution.status in (
            ExecutionStatus.QUEUED,
            ExecutionStatus.RUNNING,
        ):
            execution.stuck = await self._no_worker(description)
        folded: FoldedHistory | None = None
        if include_step_results or _elided(execution.input_data) or _elided(execution.output):
            folded = await self._fold(handle)
            execution = _with_history(execution, folded)
        if include_step_results and folded is not None:
            execution.steps, execution.step_outputs = _step_results(folded)
        return execution

    async def _fold(self, handle: WorkflowHandle[Any, Any]) -> FoldedHistory:
        folder = HistoryFolder(self.client.data_converter)
        async for event in handle.fetch_history_events():
            folder.add(event)
        return folder.folded

    async def _row(self, execution: WorkflowExecution) -> schemas.Execution:
        memo = await execution.memo()
        attributes = execution.typed_search_attributes
        status = execution_status(execution)
        error = memo.get(m.MEMO_ERROR) or {}
        if not error and status == Status.TIMED_OUT:
            error = {"error": "timed_out", "error_cause": "the execution timed out"}
        checkpoints = [
            schemas.CheckpointOut(
                id=f"chk_{execution.id}_{sequence}",
                name=step_id,
                sequence=sequence,
                created_at=datetime.fromtimestamp(epoch_ms / 1000, UTC),
            )
            for sequence, step_id, epoch_ms in memo.get(m.MEMO_CHECKPOINTS, [])
        ]
        completed_at = execution.close_time or _parse(memo.get(m.MEMO_COMPLETED_AT))
        if status in OPEN_STATUSES:
            completed_at = None
        updated = [t for t in (execution.start_time, completed_at) if t is not None]
        updated += [c.created_at for c in checkpoints]
        output = memo.get(m.MEMO_OUTPUT) if status == Status.COMPLETED else None
        version = memo.get(m.MEMO_VERSION)
        return schemas.Execution(
            stuck=_stuck_from_attributes(execution.id, status, attributes),
            id=execution.id,
            execution_id=execution.id,
            workflow_id=attributes.get(sa.WORKFLOW) or "",
            workflow_name=memo.get(m.MEMO_WORKFLOW_NAME),
            version=int(version) if version is not None else None,
            project_id=attributes.get(sa.PROJECT) or "",
            status=to_execution_status(status),
            created_at=_parse(memo.get(m.MEMO_CREATED_AT)) or execution.start_time,
            updated_at=max(updated) if updated else None,
            started_at=_parse(memo.get(m.MEMO_STARTED_AT)),
            completed_at=completed_at,
            input_data=memo.get(m.MEMO_INPUT),
            inputs=memo.get(m.MEMO_INPUT),
            output_data=output,
            output=output,
            metadata=memo.get(m.MEMO_METADATA) or {},
            error=error.get("error") or (status.value if status in FAILURE_STATUSES else None),
            error_cause=error.get("error_cause"),
            error_class=error.get("error_type"),
            failed_step=error.get("step_id"),
            failed_attempts=error.get("attempts"),
            bulk_id=attributes.get(sa.BATCH),
            continuation_of=attributes.get(sa.CONTINUATION_OF),
            lineage_depth=attributes.get(sa.LINEAGE_DEPTH) or 0,
            checkpoints=checkpoints,
        )

    # ---- checkpoints, replay, rollback -------------------------------------------------

    async def checkpoints(self, project_id: str, execution_id: str) -> list[schemas.CheckpointOut]:
        _, description = await self.describe(project_id, execution_id)
        return (await self._row(description)).checkpoints

    async def checkpoint(
        self, project_id: str, execution_id: str, checkpoint_id: str
    ) -> schemas.CheckpointState:
        """One checkpoint with its whole state, folded from the history (no worker needed)."""
        handle, _ = await self.describe(project_id, execution_id)
        sequence = _sequence(execution_id, checkpoint_id)
        folded = await self._fold(handle)
        if sequence not in folded.snapshots:
            raise NotFound("checkpoint not found")
        delta, _ = folded.snapshots[sequence]
        return schemas.CheckpointState(
            id=checkpoint_id,
            name=str(delta["step_id"]),
            sequence=sequence,
            created_at=datetime.fromisoformat(delta["created_at"]),
            state=folded.state_at(sequence),
        )

    async def replay(
        self, project_id: str, execution_id: str, checkpoint_id: str | None
    ) -> tuple[str, datetime]:
        """A new execution from a checkpoint's state (or from the start), linked to its source."""
        handle, description = await self.describe(project_id, execution_id)
        folded = await self._fold(handle)
        params = m.ExecutionInput.model_validate(folded.params)
        restored = None
        if checkpoint_id is not None:
            sequence = _sequence(execution_id, checkpoint_id)
            restored = self._restored(folded, "replay", execution_id, sequence)
        attributes = description.typed_search_attributes
        lineage = Lineage(
            triggered_by="retry",
            continuation_of=execution_id,
            depth=(attributes.get(sa.LINEAGE_DEPTH) or 0) + 1,
        )
        replay = params.model_copy(
            update={"execution_id": new_execution_id(), "restored": restored}
        )
        return await self._start_run(replay, lineage)

    async def rollback(self, project_id: str, execution_id: str, checkpoint_id: str) -> Status:
        """Back to a checkpoint, same id, paused there; later state is discarded."""
        handle, description = await self.describe(project_id, execution_id)
        sequence = _sequence(execution_id, checkpoint_id)
        status = execution_status(description)
        if status not in TERMINAL_STATUSES:
            known = {c.sequence for c in (await self._row(description)).checkpoints}
            if sequence not in known:
                raise NotFound("checkpoint not found")
            await self._signal(handle, "rollback", m.RollbackRequest(sequence=sequence), status)
            return Status.PAUSED
        await self._rollback_closed(handle, description, sequence)
        return Status.PAUSED

    async def _rollback_closed(
        self,
        handle: WorkflowHandle[Any, Any],
        description: WorkflowExecutionDescription,
        sequence: int,
    ) -> None:
        """A closed execution keeps its id through a new run that starts paused at the
        checkpoint. The superseded run is then deleted, so lists and counts keep one row per
        execution; the new run carries every checkpoint it keeps, so nothing it shows is lost.
        """
        folded = await self._fold(handle)
        restored = self._restored(folded, "rollback", description.id, sequence)
        restored.paused = True
        restored.next_sequence = max(folded.snapshots) + 1
        params = m.ExecutionInput.model_validate(folded.params).model_copy(
            update={"restored": restored}
        )
        attributes = description.typed_search_attributes
        memo = await description.memo()
        lineage = Lineage(
            triggered_by=attributes.get(sa.TRIGGERED_BY) or "manual",
            continuation_of=attributes.get(sa.CONTINUATION_OF),
            depth=attributes.get(sa.LINEAGE_DEPTH) or 0,
            created_at=_parse(memo.get(m.MEMO_CREATED_AT)),
        )
        await self._start_run(params, lineage, rollback=True)
        await self.client.workflow_service.delete_workflow_execution(
            DeleteWorkflowExecutionRequest(
                namespace=self.client.namespace,
                workflow_execution=ProtoExecution(
                    workflow_id=description.id, run_id=description.run_id
                ),
            )
        )

    @staticmethod
    def _restored(
        folded: FoldedHistory, label: Literal["replay", "rollback"], source: str, sequence: int
    ) -> m.RestoredState:
        if sequence not in folded.snapshots:
            raise NotFound("checkpoint not found")
        _, log = folded.snapshots[sequence]
        return m.RestoredState(
            label=label,
            source_execution_id=source,
            source_sequence=sequence,
            deltas=log,
            next_sequence=sequence + 1,
        )

    # ---- events -----------------------------------------------------------------------

    async def events(
        self, project_id: str, execution_id: str, after: int, limit: int
    ) -> schemas.EventPage:
        handle, _ = await self.describe(project_id, execution_id)
        translator = EventTranslator(self.client.data_converter)
        items: list[schemas.Event] = []
        async for event in handle.fetch_history_events():
            for translated in translator.translate(event):
                if translated.id > after:
                    items.append(translated)
            if len(items) > limit:
                break
        more = len(items) > limit
        items = items[:limit]
        return schemas.EventPage(items=items, next_cursor=items[-1].id if more else None)

    async def stream(
        self, project_id: str, execution_id: str, after: int
    ) -> AsyncIterator[schemas.Event]:
        """Every event after `after`, then each new one as it happens, until the run closes.

        The history is long-polled (`wait_new_event`): no busy loop, and the iterator ends
        with the close event.
        """
        handle, _ = await self.describe(project_id, execution_id)
        translator = EventTranslator(self.client.data_converter)
        async for event in handle.fetch_history_events(wait_new_event=True):
            for translated in translator.translate(event):
                if translated.id > after:
                    yield translated

    # ---- stuck and failed --------------------------------------------------------------

    async def _no_worker(self, description: WorkflowExecutionDescription) -> schemas.Stuck | None:
        """A workflow task waiting for long with nobody polling its task queue."""
        pending = description.raw_description.pending_workflow_task
        if not pending.HasField("scheduled_time"):
            return None
        since = pending.scheduled_time.ToDatetime(tzinfo=UTC)
        if (datetime.now(UTC) - since).total_seconds() < self.settings.stuck_after_secs:
            return None
        queue = description.task_queue or self.settings.task_queue
        response = await self.client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=self.client.namespace,
                task_queue=TaskQueue(name=queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        if response.pollers:
            return None
        return schemas.Stuck(
            reason="no_worker",
            since=since,
            detail=f"no worker polls the task queue {queue!r}; start one with `ferryman worker`",
            actions=[_stop_action(description.id)],
        )

    async def failures(
        self, project_id: str, workflow_id: str | None, limit: int, after: str | None
    ) -> schemas.FailurePage:
        """Failed executions, and running ones Temporal or the retries flag as stuck."""
        query = (
            self._query(project_id, workflow_id, None)
            + " AND (ExecutionStatus = 'Failed' OR (ExecutionStatus = 'Running' AND "
            + f"({sa.REPORTED_PROBLEMS.name} IS NOT NULL OR {sa.ATTEMPT.name} >= "
            + f"{STUCK_ATTEMPTS})))"
        )
        token = _decode_cursor(after) if after else None
        executions, next_token = await self._fetch(query, limit, token)
        items = [_failure(await self._row(e)) for e in executions]
        cursor = _encode_cursor(next_token) if next_token and len(executions) == limit else None
        return schemas.FailurePage(items=items, total=await self.count(query), next_cursor=cursor)

    # ---- list -------------------------------------------------------------------------

    def _query(
        self, project_id: str, workflow_id: str | None, status: ExecutionStatus | None
    ) -> str:
        clauses = [
            f"WorkflowType = '{WORKFLOW_TYPE}'",
            f"{sa.PROJECT.name} = {sa.escape(project_id)}",
            "ExecutionStatus != 'ContinuedAsNew'",
        ]
        if workflow_id is not None:
            if not SLUG.match(workflow_id):
                raise InvalidInput("workflow_id must be a workflow slug (a-z, 0-9, '-', '_')")
            clauses.append(f"{sa.WORKFLOW.name} = {sa.escape(workflow_id)}")
        if status is not None:
            clauses.append(status_clause(status))
        return " AND ".join(clauses)

    async def count(self, query: str) -> int:
        try:
            return (await self.client.count_workflows(query)).count
        except RPCError as err:
            raise temporal_error(err) from err

    async def list_page(
        self,
        project_id: str,
        *,
        workflow_id: str | None,
        status: ExecutionStatus | None,
        page: int,
        page_size: int,
    ) -> schemas.ExecutionPage:
        if page * page_size > PAGE_WINDOW:
            raise InvalidInput(
                f"page x page_size may not exceed {PAGE_WINDOW}; page further with the cursor "
                "(`limit` and `after`, taking `next_cursor` from each answer)"
            )
        query = self._query(project_id, workflow_id, status)
        executions = await self._fetch(query, page * page_size, None)
        rows = [await self._row(e) for e in executions[0][(page - 1) * page_size :]]
        return schemas.ExecutionPage(
            items=rows, total=await self.count(query), page=page, page_size=page_size
        )

    async def list_cursor(
        self,
        project_id: str,
        *,
        workflow_id: str | None,
        status: ExecutionStatus | None,
        limit: int,
        after: str | None,
    ) -> schemas.ExecutionPage:
        query = self._query(project_id, workflow_id, status)
        if after is None or after.startswith("c1."):
            token = _decode_cursor(after) if after else None
            executions, next_token = await self._fetch(query, limit, token)
            cursor = _encode_cursor(next_token) if next_token and len(executions) == limit else None
        else:
            executions, cursor = await self._after_id(query, after, limit)
        rows = [await self._row(e) for e in executions]
        return schemas.ExecutionPage(items=rows, total=await self.count(query), next_cursor=cursor)

    async def _fetch(
        self, query: str, size: int, token: bytes | None
    ) -> tuple[list[WorkflowExecution], bytes | None]:
        iterator = self.client.list_workflows(query, page_size=size, next_page_token=token)
        try:
            await iterator.fetch_next_page()
        except RPCError as err:
            if token is not None and err.status in CURSOR_REFUSALS:
                raise BadRequest("the cursor is not valid for this query") from err
            raise temporal_error(err) from err
        return _one_row_each(iterator.current_page or []), iterator.next_page_token or None

    async def _after_id(
        self, query: str, after: str, limit: int
    ) -> tuple[list[WorkflowExecution], str | None]:
        """Seed 002's cursor: the id of the last row seen. Resolved by scanning the list."""
        if not EXECUTION_ID.match(after):
            raise InvalidInput("after must be a next_cursor or an execution id")
        found = False
        rows: list[WorkflowExecution] = []
        scanned = 0
        async for execution in self.client.list_workflows(query, page_size=500):
            scanned += 1
            if found:
                rows.append(execution)
                if len(rows) > limit:
                    return rows[:limit], rows[limit - 1].id
            elif execution.id == after:
                found = True
            if scanned > 10 * PAGE_WINDOW and not found:
                break
        if not found:
            raise InvalidInput(f"after={after} is not an execution in this list")
        return rows, None

    # ---- control ----------------------------------------------------------------------

    async def stop(self, project_id: str, execution_id: str, force: bool) -> Status:
        handle, description = await self.describe(project_id, execution_id)
        status = execution_status(description)
        if status in TERMINAL_STATUSES:
            raise BadRequest(
                f"execution is {to_execution_status(status).value}; it cannot be stopped"
            )
        try:
            if force:
                await handle.terminate(reason="stopped with force through the API")
            else:
                await handle.cancel()
        except RPCError as err:
            raise _closed_or(err, status) from err
        return Status.CANCELED

    async def pause(self, project_id: str, execution_id: str) -> Status:
        handle, status = await self._controllable(project_id, execution_id)
        if status == Status.PAUSED:
            raise Conflict("execution is paused already")
        await self._signal(handle, "pause", m.ControlRequest(), status)
        return Status.PAUSED

    async def resume(self, project_id: str, execution_id: str) -> Status:
        handle, status = await self._controllable(project_id, execution_id)
        if status != Status.PAUSED:
            raise Conflict(
                f"execution is {to_execution_status(status).value}; only a paused one can resume"
            )
        await self._signal(handle, "resume", m.ControlRequest(), status)
        return Status.EXECUTING

    async def signal(self, project_id: str, execution_id: str, name: str, payload: Any) -> Status:
        """Deliver an event to a `wait` step; buffered by the workflow until the step is reached."""
        handle, description = await self.describe(project_id, execution_id)
        if name not in (await description.memo()).get(m.MEMO_WAIT_SIGNALS, []):
            raise NotFound(f"the workflow has no wait step for the signal {name!r}")
        status = execution_status(description)
        if status in TERMINAL_STATUSES:
            raise Conflict(f"execution is {to_execution_status(status).value}")
        await self._signal(handle, "signal", m.StepSignal(name=name, payload=payload), status)
        return status

    async def _controllable(
        self, project_id: str, execution_id: str
    ) -> tuple[WorkflowHandle[Any, Any], Status]:
        handle, description = await self.describe(project_id, execution_id)
        status = execution_status(description)
        if status in TERMINAL_STATUSES:
            raise Conflict(f"execution is {to_execution_status(status).value}")
        return handle, status

    async def _signal(
        self, handle: WorkflowHandle[Any, Any], name: str, arg: Any, status: Status
    ) -> None:
        try:
            await handle.signal(name, arg)
        except RPCError as err:
            raise _closed_or(err, status) from err


def _closed_or(err: RPCError, status: Status) -> Exception:
    """A signal to a run that closed meanwhile answers NOT_FOUND: that is a 409, not a 404."""
    if err.status == RPCStatusCode.NOT_FOUND:
        return Conflict("execution has just finished; it can no longer be changed")
    return temporal_error(err)


def _one_row_each(executions: Sequence[WorkflowExecution]) -> list[WorkflowExecution]:
    """One row per execution id. A closed execution rolled back runs again under its id;
    its superseded run is deleted, but Temporal deletes asynchronously (some 30 s on the dev
    server), so until then both runs are listed, the newer first (open ones lead; closed ones
    go newest close first): keep the first."""
    seen: set[str] = set()
    rows = []
    for execution in executions:
        if execution.id not in seen:
            seen.add(execution.id)
            rows.append(execution)
    return rows


def _stop_action(execution_id: str) -> schemas.Action:
    return schemas.Action(
        action="terminate",
        description="stop the execution at once",
        method="POST",
        endpoint=f"/api/v1/executions/{execution_id}/stop?force=true",
    )


def _rollback_action(execution_id: str, checkpoint: str) -> schemas.Action:
    return schemas.Action(
        action="rollback",
        description="go back to the last checkpoint, paused, then resume",
        method="POST",
        endpoint=f"/api/v1/executions/{execution_id}/rollback",
        body={"checkpoint_id": checkpoint},
    )


def _stuck_from_attributes(
    execution_id: str, status: Status, attributes: TypedSearchAttributes
) -> schemas.Stuck | None:
    """What the list call alone tells: Temporal's reported problems, a step's attempts."""
    if status in TERMINAL_STATUSES:
        return None
    problems = attributes.get(sa.REPORTED_PROBLEMS)
    if problems:
        return schemas.Stuck(
            reason="workflow_task_failing",
            detail="Temporal reports the workflow task failing: "
            + ", ".join(problems)
            + ". Deploy a worker with fixed code, or terminate or roll back the execution.",
            actions=[_stop_action(execution_id)],
        )
    attempt = attributes.get(sa.ATTEMPT) or 0
    if attempt >= STUCK_ATTEMPTS:
        next_retry = attributes.get(sa.NEXT_RETRY_AT)
        return schemas.Stuck(
            reason="step_retrying",
            since=None,
            detail=f"a step keeps failing and is on attempt {attempt}"
            + (f"; next attempt at {next_retry.isoformat()}" if next_retry else ""),
            actions=[
                schemas.Action(
                    action="pause",
                    description="hold further attempts while the cause is fixed",
                    method="POST",
                    endpoint=f"/api/v1/executions/{execution_id}/pause",
                ),
                _stop_action(execution_id),
            ],
        )
    return None


def _failure(execution: schemas.Execution) -> schemas.Failure:
    """A failure row, with the resolution actions that apply to it."""
    actions: list[schemas.Action] = []
    last = execution.checkpoints[-1].id if execution.checkpoints else None
    if execution.status == ExecutionStatus.FAILED:
        if last:
            actions.append(
                schemas.Action(
                    action="replay_from_last_checkpoint",
                    description="a new execution that keeps the completed steps",
                    method="POST",
                    endpoint=f"/api/v1/executions/{execution.id}/replay",
                    body={"checkpoint_id": last},
                )
            )
            actions.append(_rollback_action(execution.id, last))
        actions.append(
            schemas.Action(
                action="replay_from_start",
                description="a new execution from the start, same input",
                method="POST",
                endpoint=f"/api/v1/executions/{execution.id}/replay",
            )
        )
    elif execution.stuck is not None:
        actions = execution.stuck.actions
    return schemas.Failure(
        execution_id=execution.id,
        workflow_id=execution.workflow_id,
        workflow_name=execution.workflow_name,
        status=execution.status.value,
        error=execution.error,
        error_class=execution.error_class,
        failed_step=execution.failed_step,
        attempts=execution.failed_attempts,
        last_error=execution.error_cause,
        failed_at=execution.completed_at,
        stuck=execution.stuck,
        actions=actions,
    )


def _sequence(execution_id: str, checkpoint_id: str) -> int:
    """`chk_<execution id>_<sequence>` -> sequence; anything else names no checkpoint."""
    prefix = f"chk_{execution_id}_"
    number = checkpoint_id.removeprefix(prefix)
    if not checkpoint_id.startswith(prefix) or not number.isdigit() or len(number) > 9:
        raise NotFound("checkpoint not found")
    return int(number)


def _epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _elided(value: Any) -> bool:
    return isinstance(value, dict) and value.get("_elided") is True


def _with_history(execution: schemas.Execution, folded: FoldedHistory) -> schemas.Execution:
    """Replace elided memo summaries with the whole values from history."""
    update: dict[str, Any] = {}
    if _elided(execution.input_data):
        update["input_data"] = update["inputs"] = folded.params.get("input")
    if _elided(execution.output):
        update["output_data"] = update["output"] = folded.result
    return execution.model_copy(update=update) if update else execution


def _step_results(
    folded: FoldedHistory,
) -> tuple[list[schemas.StepResult], dict[str, schemas.StepOutput]]:
    steps: list[schemas.StepResult] = []
    outputs: dict[str, schemas.StepOutput] = {}
    for index, record in enumerate(folded.steps.values()):
        steps.append(
            schemas.StepResult(
                index=index,
                step_id=record.step_id,
                kind=record.kind,
                status=record.status,
                result=record.output,
                attempts=record.attempts,
                started_at=record.started_at,
                completed_at=record.completed_at,
                error=record.error,
            )
        )
        outputs[record.step_id] = schemas.StepOutput(
            step_id=record.step_id,
            status=record.status,
            started_at=record.started_at,
            completed_at=record.completed_at,
            output=record.output,
            primary=_primary(record.kind, record.output),
            metadata={"kind": record.kind, "attempts": record.attempts}
            | ({"activity": record.activity} if record.activity else {}),
        )
    return steps, outputs


def _primary(kind: str, output: Any) -> Any:
    """The one value a UI would show for a step (seed 003's `primary`)."""
    if kind == "http" and isinstance(output, dict):
        return output.get("json", output.get("text"))
    if isinstance(output, list):
        return output[0] if output else None
    return output


def _encode_cursor(token: bytes) -> str:
    return "c1." + base64.urlsafe_b64encode(token).decode().rstrip("=")


def _decode_cursor(cursor: str) -> bytes:
    """The page token inside a `next_cursor`. Temporal's SQL visibility tokens are JSON
    objects; anything else would only earn an opaque error after the client's retries."""
    if not cursor.startswith("c1."):
        raise InvalidInput("after is not a valid cursor")
    raw = cursor.removeprefix("c1.")
    try:
        token = base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_", validate=True)
        if not isinstance(json.loads(token), dict):
            raise ValueError("not an object")
    except (binascii.Error, ValueError) as err:
        raise InvalidInput("after is not a valid cursor") from err
    return token
