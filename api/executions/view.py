"""The read model of an execution, the one thing every surface serializes.

An `ExecutionView` is built from one list row or one describe (search attributes and the
memo: no history read), so lists and `GET` cost the same per execution. What only the
history knows (step results, elided input and output) is added on demand
(`with_history`). Resolution actions are abstract (`Action`): each surface turns them into
its own URLs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from temporalio.client import (
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
)

from ferryman import search_attributes as sa
from ferryman.api.executions.ids import checkpoint_id
from ferryman.statuses import (
    DONE_STEP_STATUSES,
    FAILURE_STATUSES,
    OPEN_STATUSES,
    TERMINAL_STATUSES,
    Status,
    StepStatus,
    derive,
)
from ferryman.workflows import steps
from ferryman.workflows.memo import ErrorRecord, ExecutionMemo, is_elided

if TYPE_CHECKING:
    from ferryman.api.executions.history import FoldedHistory, StepRecord, Timings


class ActionKind(StrEnum):
    TERMINATE = "terminate"
    PAUSE = "pause"
    ROLLBACK = "rollback"
    REPLAY_FROM_LAST_CHECKPOINT = "replay_from_last_checkpoint"
    REPLAY_FROM_START = "replay_from_start"


@dataclass(frozen=True)
class Action:
    """A way out of a failure or a stuck state; `body` is what the call needs."""

    kind: ActionKind
    execution_id: str
    description: str
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Stuck:
    reason: str  # workflow_task_failing | no_worker | step_retrying
    detail: str
    since: datetime | None = None
    actions: list[Action] = field(default_factory=list)


@dataclass(frozen=True)
class CheckpointView:
    id: str
    sequence: int
    step_id: str
    created_at: datetime


@dataclass(frozen=True)
class WaitingOn:
    """An in-workflow step waiting: on a timer (`until`), an event (`signal`), or both."""

    step_id: str
    kind: str
    since: datetime | None
    signal: str | None = None
    until: datetime | None = None
    run_id: str | None = None  # a child run (`workflow` steps)

    @classmethod
    def of(cls, step_id: str, raw: dict[str, Any]) -> WaitingOn:
        return cls(
            step_id=step_id,
            kind=str(raw.get("kind", "")),
            since=_time(raw.get("since")),
            signal=raw.get("signal"),
            until=_time(raw.get("until")),
            run_id=raw.get("run_id"),
        )


@dataclass(frozen=True)
class RunRecord:
    """What the trigger asked for, and the run-level settings in force (the memo's `run`)."""

    tags: dict[str, str]
    idempotency_key: str | None
    created_by: str | None
    job_version_id: str | None
    overrides: dict[str, Any]
    retry: dict[str, Any]
    timeout_secs: float | None
    debug_mode: bool
    workflow_step_run_id: str | None = None  # the parent's step attempt that spawned it
    concurrency_limit: int | None = None
    dependencies: list[dict[str, Any]] = field(default_factory=list)

    def encode(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def decode(cls, raw: dict[str, Any]) -> RunRecord:
        return cls(
            tags=dict(raw.get("tags") or {}),
            idempotency_key=raw.get("idempotency_key"),
            created_by=raw.get("created_by"),
            job_version_id=raw.get("job_version_id"),
            overrides=dict(raw.get("overrides") or {}),
            retry=dict(raw.get("retry") or {}),
            timeout_secs=raw.get("timeout_secs"),
            debug_mode=bool(raw.get("debug_mode")),
            workflow_step_run_id=raw.get("workflow_step_run_id"),
            concurrency_limit=raw.get("concurrency_limit"),
            dependencies=list(raw.get("dependencies") or []),
        )


@dataclass(frozen=True)
class StepView:
    """One step as the history tells it."""

    step_id: str
    kind: str
    status: StepStatus
    attempts: int
    started_at: datetime | None
    completed_at: datetime | None
    output: Any
    error: str | None
    activity: str | None
    details: dict[str, Any] = field(default_factory=dict)
    input: Any = None  # the last attempt's rendered parameters (read from history only)

    @property
    def primary(self) -> Any:
        kind = steps.KINDS.get(self.kind)
        return kind.primary(self.output) if kind is not None else self.output

    @classmethod
    def of_memo(cls, step_id: str, entry: dict[str, Any]) -> StepView:
        """A finished step as its memo entry keeps it (`memo.step_entry`): large values
        elided."""
        return cls(
            step_id=step_id,
            kind=str(entry.get("kind", "")),
            status=StepStatus(entry.get("status", StepStatus.COMPLETED)),
            attempts=int(entry.get("attempts") or 0),
            started_at=_time(entry.get("started_at")),
            completed_at=_time(entry.get("completed_at")),
            output=entry.get("output"),
            error=None,
            activity=entry.get("activity"),
            details=dict(entry.get("details") or {}),
        )

    @classmethod
    def of(cls, record: StepRecord) -> StepView:
        return cls(
            step_id=record.step_id,
            kind=record.kind,
            status=record.status,
            attempts=record.attempts,
            started_at=record.started_at,
            completed_at=record.completed_at,
            output=record.output,
            error=record.error,
            activity=record.activity,
            details=dict(record.details),
            input=record.input,
        )


@dataclass(frozen=True)
class ExecutionView:
    id: str
    workflow_type: str
    project_id: str
    workflow_id: str
    workflow_name: str | None
    version: int | None
    status: Status
    temporal_status: WorkflowExecutionStatus | None
    created_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    updated_at: datetime | None
    input: Any
    metadata: dict[str, Any]
    output: Any
    error: ErrorRecord | None
    batch_id: str | None
    triggered_by: str | None
    continuation_of: str | None
    lineage_depth: int
    attempt: int | None
    next_retry_at: datetime | None
    reported_problems: list[str]
    wait_signals: list[str]
    waiting_on: list[WaitingOn]
    checkpoints: list[CheckpointView]
    run: RunRecord = field(default_factory=lambda: RunRecord.decode({}))
    priority: int = 0
    debug_mode: bool = False
    trace: dict[str, float] = field(default_factory=dict)
    parent_run_id: str | None = None
    concurrency_key: str | None = None
    scheduled_at: datetime | None = None
    expires_at: datetime | None = None
    dependencies_met_at: datetime | None = None  # when the run's job dependencies all held
    usage: dict[str, int] = field(default_factory=dict)  # tokens and cost of its llm steps
    closed_at: datetime | None = None  # Temporal's own close time
    # Read of one run only (`ExecutionReader.detail`): the last activity heartbeat, and what
    # its history times (first workflow task, schedule-to-start of its activities).
    heartbeat_at: datetime | None = None
    timings: Timings | None = None
    stuck: Stuck | None = None
    steps: list[StepView] | None = None
    # The finished (completed or skipped) steps, in checkpoint order, as the memo keeps
    # them; None for a run whose memo predates that (`with_history` reads them).
    outputs: list[StepView] | None = None

    @property
    def needs_history(self) -> bool:
        """Whether the memo elided the input or the output, or keeps no step outputs (read
        them from history)."""
        return is_elided(self.input) or is_elided(self.output) or self.outputs is None

    def with_history(self, folded: FoldedHistory, include_steps: bool) -> ExecutionView:
        """Elided values replaced by the whole ones, step outputs the memo did not keep;
        step results if asked for."""
        finished = [
            StepView.of(record)
            for record in folded.steps.values()
            if record.status in DONE_STEP_STATUSES
        ]
        return replace(
            self,
            input=folded.params.input if is_elided(self.input) and folded.params else self.input,
            output=folded.result if is_elided(self.output) else self.output,
            steps=[StepView.of(record) for record in folded.steps.values()]
            if include_steps
            else self.steps,
            outputs=finished if self.outputs is None else self.outputs,
        )

    @classmethod
    def of(cls, execution: WorkflowExecution, memo: ExecutionMemo) -> ExecutionView:
        """The view of a listed or described run."""
        attributes = execution.typed_search_attributes
        status = derive(execution.status, attributes.get(sa.STATUS), _cancel_requested(execution))
        completed_at = None
        if status not in OPEN_STATUSES:
            completed_at = execution.close_time or memo.completed_at
        checkpoints = [
            CheckpointView(
                checkpoint_id(execution.id, entry.sequence),
                entry.sequence,
                entry.step_id,
                entry.created_at,
            )
            for entry in memo.index
        ]
        run = RunRecord.decode(memo.run)
        moments = [t for t in (execution.start_time, completed_at) if t is not None]
        moments += [c.created_at for c in checkpoints]
        return cls(
            id=execution.id,
            workflow_type=execution.workflow_type,
            project_id=attributes.get(sa.PROJECT) or "",
            workflow_id=attributes.get(sa.WORKFLOW) or "",
            workflow_name=memo.workflow_name,
            version=memo.version,
            status=status,
            temporal_status=execution.status,
            created_at=memo.created_at or execution.start_time,
            started_at=memo.started_at,
            completed_at=completed_at,
            updated_at=max(moments) if moments else None,
            input=memo.input,
            metadata=memo.metadata,
            output=memo.output if status == Status.COMPLETED else None,
            error=_error(status, memo.error),
            batch_id=attributes.get(sa.BATCH),
            triggered_by=attributes.get(sa.TRIGGERED_BY),
            continuation_of=attributes.get(sa.CONTINUATION_OF),
            lineage_depth=attributes.get(sa.LINEAGE_DEPTH) or 0,
            attempt=attributes.get(sa.ATTEMPT),
            next_retry_at=attributes.get(sa.NEXT_RETRY_AT),
            reported_problems=list(attributes.get(sa.REPORTED_PROBLEMS) or []),
            wait_signals=memo.wait_signals,
            waiting_on=[]
            if status in TERMINAL_STATUSES
            else [WaitingOn.of(step_id, raw) for step_id, raw in memo.waiting_on.items()],
            checkpoints=checkpoints,
            run=run,
            priority=attributes.get(sa.PRIORITY) or 0,
            debug_mode=memo.debug_mode if memo.debug_mode is not None else run.debug_mode,
            trace=memo.trace,
            parent_run_id=attributes.get(sa.PARENT),
            concurrency_key=attributes.get(sa.CONCURRENCY_KEY),
            scheduled_at=attributes.get(sa.SCHEDULED_AT),
            expires_at=attributes.get(sa.EXPIRES_AT),
            dependencies_met_at=memo.dependencies_met_at,
            usage=memo.usage,
            closed_at=execution.close_time,
            outputs=_outputs(memo, checkpoints),
        )


def _cancel_requested(execution: WorkflowExecution) -> bool:
    """Whether Temporal has a cancellation request for the run (a stop): describe says so
    at once, so the very next read after a stop sees it; list rows cannot."""
    if not isinstance(execution, WorkflowExecutionDescription):
        return False
    return execution.raw_description.workflow_extended_info.cancel_requested


def _outputs(memo: ExecutionMemo, checkpoints: list[CheckpointView]) -> list[StepView] | None:
    """The memo's step entries in checkpoint order; None when an older memo keeps none but
    steps have finished (beyond the `start` checkpoint)."""
    if not memo.keeps_step_outputs:
        return None if len(checkpoints) > 1 else []
    kept = {c.step_id: memo.steps[c.step_id] for c in checkpoints if c.step_id in memo.steps}
    return [StepView.of_memo(step_id, entry) for step_id, entry in kept.items()]


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _error(status: Status, recorded: ErrorRecord | None) -> ErrorRecord | None:
    """What the memo recorded, or what Temporal's own outcome says when it recorded nothing."""
    if recorded is not None:
        return recorded
    if status == Status.TIMED_OUT:
        return ErrorRecord(status=Status.TIMED_OUT.value, cause="the execution timed out")
    if status in FAILURE_STATUSES:
        return ErrorRecord(status=status.value)
    return None
