"""The models the client sends and returns: the API's own wire models, imported from the
surfaces that serve them (one source: a field the API adds or renames is here at once).

Names follow the API's, without the `Out` suffix some of its response bodies carry
(`Schedule` is `ScheduleOut`, `Workflow` is `WorkflowOut`, ...). `/v1` (runs, jobs,
schedules) and `/api/v1` (executions, workflows) each keep their own models, as the API
does: a `Run` is not an `Execution`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ferryman.activities.llm_contract import Chunk
from ferryman.api.surfaces.api_v1.schemas import (
    Action,
    CheckpointOut,
    CheckpointState,
    ControlResult,
    Event,
    Execution,
    ExecutionAccepted,
    ExecutionCreated,
    Failure,
    KeyCreated,
    KeyOut,
    StepOutput,
    StepResult,
    Stuck,
    WaitingOn,
    WorkflowOut,
    WorkflowVersionOut,
    WorkflowVersions,
)
from ferryman.api.surfaces.api_v1.statuses import ExecutionStatus
from ferryman.api.surfaces.v1.job_schemas import (
    Dependency,
    DependencyState,
    DependencyStatus,
    Job,
    JobDefaults,
    ScheduleDeleted,
    ScheduleOut,
)
from ferryman.api.surfaces.v1.schemas import (
    BatchTriggered,
    BulkItem,
    BulkResult,
    DebugBundle,
    DebugState,
    DlqReplayed,
    ExecutionTrace,
    IdempotencyReset,
    Run,
    RunCheckpoint,
    RunEvent,
    RunState,
    RunUsage,
    StepState,
    StructuredOutput,
    ToolCall,
    TriggerRequest,
    Usage,
)
from ferryman.statuses import Condition, Status

Schedule = ScheduleOut
Workflow = WorkflowOut
WorkflowVersion = WorkflowVersionOut
Checkpoint = CheckpointOut
Key = KeyOut


@dataclass(frozen=True)
class JobApplied:
    """What `jobs.apply` did: `created` the job, `updated` it to a new version, or left it
    `unchanged` (the same definition keeps its version)."""

    job: Job
    change: Literal["created", "updated", "unchanged"]


__all__ = [
    "Action",
    "BatchTriggered",
    "BulkItem",
    "BulkResult",
    "Checkpoint",
    "CheckpointState",
    "Chunk",
    "Condition",
    "ControlResult",
    "DebugBundle",
    "DebugState",
    "Dependency",
    "DependencyState",
    "DependencyStatus",
    "DlqReplayed",
    "Event",
    "Execution",
    "ExecutionAccepted",
    "ExecutionCreated",
    "ExecutionStatus",
    "ExecutionTrace",
    "Failure",
    "IdempotencyReset",
    "Job",
    "JobApplied",
    "JobDefaults",
    "Key",
    "KeyCreated",
    "Run",
    "RunCheckpoint",
    "RunEvent",
    "RunState",
    "RunUsage",
    "Schedule",
    "ScheduleDeleted",
    "Status",
    "StepOutput",
    "StepResult",
    "StepState",
    "StructuredOutput",
    "Stuck",
    "ToolCall",
    "TriggerRequest",
    "Usage",
    "WaitingOn",
    "Workflow",
    "WorkflowVersion",
    "WorkflowVersions",
]
