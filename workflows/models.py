"""Inputs, outputs, signals and queries of ExecutionWorkflow: one pydantic model each.

Everything here travels through Temporal and is decoded again on replay, so these models
carry types and defaults only, never a validator (see `ferryman.workflows.snapshot`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from ferryman.statuses import StepStatus
from ferryman.workflows.snapshot import DefinitionSnapshot


class StepState(BaseModel):
    step_id: str
    kind: str
    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    next_retry_at: datetime | None = None
    error: str | None = None
    error_type: str | None = None


class RestoredState(BaseModel):
    """Where an execution starts when it is not from scratch (replay and rollback).

    `deltas` are the source's checkpoints in force at the chosen one, each with its output
    inline (`Checkpoint.inline`), so this run's own history is enough to rebuild them.
    """

    label: str  # "replay", "rollback" or "redrive" (a dead-lettered run driven again)
    source_execution_id: str
    source_sequence: int
    deltas: list[dict[str, Any]] = Field(default_factory=list)
    next_sequence: int = 1
    paused: bool = False
    # History events the execution's earlier runs had (a rollback of a finished execution
    # starts a new run): its event ids continue after theirs, so they only ever grow.
    event_base: int = 0


class Dependency(BaseModel):
    """A run of `job_id` waits until the latest run of `depends_on_job_id` meets
    `condition` (`completed`, `failed` or `finished`); snapshotted when the run starts."""

    id: str
    job_id: str
    depends_on_job_id: str
    condition: str
    created_at: datetime


class ConcurrencySlot(BaseModel):
    """At most `limit` runs of one `key` (in one project) execute at once; without a limit
    the key only labels the run."""

    key: str
    limit: int | None = None


class RunSettings(BaseModel):
    """How a run is admitted and what it says about itself in lists, fixed when it starts:
    its priority and tags, the batch it belongs to, when it may start (`scheduled_at`, moved
    by the `reschedule` signal) and until when (`expires_at`), the concurrency slot it needs,
    the runs of other jobs it waits for, and the parent run and step that spawned it."""

    priority: int = 0
    tags: dict[str, str] = Field(default_factory=dict)
    batch_id: str | None = None
    scheduled_at: datetime | None = None
    expires_at: datetime | None = None
    concurrency: ConcurrencySlot | None = None
    dependencies: list[Dependency] = Field(default_factory=list)
    parent_run_id: str | None = None
    workflow_step_run_id: str | None = None


class ExecutionInput(BaseModel):
    """Everything an execution needs, the definition snapshot included."""

    execution_id: str
    project_id: str
    workflow_id: str
    workflow_name: str
    version: int
    definition: DefinitionSnapshot
    input: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    step_output_limit_bytes: int = 256 * 1024
    # Values over this many bytes of JSON are elided from the memo (`memo.summary`).
    memo_summary_limit_bytes: int = 2048
    restored: RestoredState | None = None
    # Events carry each step's rendered input and output (POST /v1/runs/{id}/debug).
    debug_mode: bool = False
    # None for runs started before admission existed: they start at once, like before.
    run: RunSettings | None = None


class ExecutionResult(BaseModel):
    status: str
    output: Any = None


class CheckpointRef(BaseModel):
    sequence: int
    step_id: str
    created_at: datetime


class ExecutionState(BaseModel):
    """Answer of the `state` query."""

    status: str
    paused: bool
    stop_requested: bool
    steps: dict[str, StepState]
    outputs: dict[str, Any]
    checkpoints: list[CheckpointRef]
    buffered_signals: dict[str, int]


# The workflow's own signals and updates: a `wait` step may not take one of these names,
# because events for `wait` steps arrive as signals and updates of their own name.
CONTROL_SIGNALS = frozenset(
    {
        "pause",
        "resume",
        "stop",
        "rollback",
        "signal",
        "event",
        "debug",
        "slot_granted",
        "reschedule",
    }
)


def activity_id(step_id: str, attempt: int) -> str:
    """The activity id of one attempt of a step; history readers parse it back."""
    return f"{step_id}#{attempt}"


def parse_activity_id(value: str) -> tuple[str, int] | None:
    """(step id, attempt) of an id made by `activity_id`, or None for any other id."""
    step_id, _, attempt = value.rpartition("#")
    return (step_id, int(attempt)) if step_id and attempt.isdigit() else None
