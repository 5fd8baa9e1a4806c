"""Wire bodies of the `/api/v1` surface. Their OpenAPI examples live in `examples`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ferryman.api.surfaces.api_v1 import examples
from ferryman.api.surfaces.api_v1.statuses import ExecutionStatus

# Versions are 32-bit integers in the metadata DB; a larger one is a 422, not a DB error.
MAX_VERSION = 2**31 - 1


class CreateExecution(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.CREATE_EXECUTION]}
    )

    workflow_id: str = Field(min_length=1, max_length=63)
    input_data: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=256)


class ExecutionCreated(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.EXECUTION_CREATED]})

    id: str = Field(examples=[examples.EXECUTION_ID])
    execution_id: str = Field(examples=[examples.EXECUTION_ID])
    workflow_id: str = Field(examples=[examples.WORKFLOW_ID])
    status: ExecutionStatus
    created_at: datetime


class ExecutionAccepted(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.EXECUTION_ACCEPTED]})

    execution_id: str = Field(examples=[examples.EXECUTION_ID])
    workflow_id: str = Field(examples=[examples.WORKFLOW_ID])
    status: ExecutionStatus
    created_at: datetime


class CheckpointOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CHECKPOINTS[2]]})

    id: str = Field(examples=[examples.CHECKPOINTS[0]["id"]])
    name: str = Field(examples=["start"])
    sequence: int
    created_at: datetime


class CheckpointState(CheckpointOut):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CHECKPOINT_STATE]})

    state: dict[str, Any] = Field(
        description="`input`, `outputs` and `steps` (status by step id) at this checkpoint",
        examples=[
            {
                "input": {"email": "ada@example.com"},
                "outputs": {"profile": {"status": 200}},
                "steps": {"profile": "completed"},
            }
        ],
    )


class CheckpointList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": examples.CHECKPOINTS}]})

    items: list[CheckpointOut]


class CheckpointRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.LAST_CHECKPOINT]}
    )

    checkpoint_id: str | None = Field(
        default=None, max_length=200, examples=[examples.CHECKPOINTS[2]["id"]]
    )


class StepResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [examples.STEPS[2], examples.FAILED_STEP]}
    )

    index: int
    step_id: str
    kind: str
    status: str
    result: Any = None
    attempts: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: str | None = None


class StepOutput(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.STEP_OUTPUTS["profile"]]})

    step_id: str
    status: str
    started_at: datetime | None = None
    completed_at: datetime | None = None
    output: Any = None
    primary: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class Action(BaseModel):
    """A way out of a failure or a stuck state, with the call that takes it."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.FAILED_ACTIONS[0]]})

    action: str = Field(examples=["replay_from_last_checkpoint"])
    description: str
    method: str = Field(examples=["POST"])
    endpoint: str = Field(examples=[f"/api/v1/executions/{examples.EXECUTION_ID}/replay"])
    body: dict[str, Any] | None = None


class Stuck(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.STUCK]})

    reason: str = Field(
        examples=["no_worker"], description="workflow_task_failing | no_worker | step_retrying"
    )
    since: datetime | None = None
    detail: str
    actions: list[Action] = Field(default_factory=list)


class WaitingOn(BaseModel):
    """A step waiting on a timer (`until`), an event (`signal`), an event with a timeout, or
    a child run (`run_id`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.WAITING_ON]})

    step: str = Field(examples=["approval"])
    kind: str = Field(examples=["wait"])
    since: datetime | None = None
    signal: str | None = Field(default=None, examples=["approve"])
    until: datetime | None = None
    run_id: str | None = Field(default=None, description="The child run a `workflow` step waits on")


class Execution(BaseModel):
    """One execution. `step_outputs` (seed 003): the finished steps' outputs as the memo keeps
    them, large values elided (`{"_elided": true, "bytes": n}`); with
    `include_step_results=true`, every step as its history tells, values whole, and `steps`
    (seed 002). List rows carry neither."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                examples.EXECUTION,
                examples.EXECUTION_WITH_STEPS,
                examples.WAITING_EXECUTION,
            ]
        }
    )

    id: str
    execution_id: str
    workflow_id: str
    workflow_name: str | None = None
    version: int | None = None
    project_id: str
    status: ExecutionStatus
    created_at: datetime | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    input_data: Any = None
    inputs: Any = None
    output_data: Any = None
    output: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    error_cause: str | None = None
    error_class: str | None = Field(default=None, examples=["HttpRetryableError"])
    failed_step: str | None = None
    failed_attempts: int | None = None
    bulk_id: str | None = None
    continuation_of: str | None = Field(default=None, description="The execution this replays")
    lineage_depth: int = 0
    checkpoints: list[CheckpointOut] = Field(default_factory=list)
    stuck: Stuck | None = None
    waiting_on: list[WaitingOn] = Field(
        default_factory=list, description="The steps waiting on a timer or an event, now"
    )
    steps: list[StepResult] | None = None
    step_outputs: dict[str, StepOutput] | None = None


class ExecutionPage(BaseModel):
    """Page pagination (`page`, `page_size`) or cursor pagination (`limit`, `after`)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [examples.EXECUTION_PAGE, examples.EXECUTION_CURSOR_PAGE]}
    )

    items: list[Execution]
    total: int
    page: int | None = None
    page_size: int | None = None
    next_cursor: str | None = None


class Failure(BaseModel):
    """A failed (or stuck) execution and what resolves it."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [examples.FAILURE, examples.STUCK_FAILURE]}
    )

    execution_id: str
    workflow_id: str
    workflow_name: str | None = None
    status: str = Field(description="failed, or running for a stuck execution")
    error: str | None = Field(default=None, examples=["dead_letter"])
    error_class: str | None = Field(default=None, examples=["HttpRetryableError"])
    failed_step: str | None = None
    attempts: int | None = None
    last_error: str | None = None
    failed_at: datetime | None = None
    stuck: Stuck | None = None
    actions: list[Action]


class FailurePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                # Open executions come first (Temporal's list order).
                {
                    "items": [examples.STUCK_FAILURE, examples.FAILURE],
                    "total": 2,
                    "next_cursor": None,
                }
            ]
        }
    )

    items: list[Failure]
    total: int
    next_cursor: str | None = None


class ControlResult(BaseModel):
    # The answer to a rollback of FAILED_EXECUTION_ID to its checkpoint 2.
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"execution_id": examples.FAILED_EXECUTION_ID, "status": "paused"}]
        }
    )

    execution_id: str = Field(examples=[examples.EXECUTION_ID])
    status: ExecutionStatus


class SignalRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "approve", "payload": examples.APPROVAL_OUTPUT}]},
    )

    name: str = Field(min_length=1, max_length=200)
    payload: Any = None


class Event(BaseModel):
    """A user-level event translated from the Temporal history."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.EVENT]})

    id: int = Field(description="Increases along the history; use it as `after` or Last-Event-ID")
    type: str = Field(examples=["step.completed"])
    level: str = Field(examples=["info"])
    message: str
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime


class EventPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": examples.FIRST_EVENTS, "next_cursor": 100}]}
    )

    items: list[Event]
    next_cursor: int | None = Field(
        default=None, description="Pass as `after` for the next page; null at the end"
    )


class WorkflowOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.WORKFLOW]})

    id: str = Field(examples=[examples.WORKFLOW_ID])
    name: str
    description: str | None = None
    version: int
    latest_version: int
    disabled: bool
    created_at: datetime
    updated_at: datetime
    definition: dict[str, Any]


class WorkflowPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [examples.WORKFLOW], "total": 1, "page": 1, "page_size": 20}]
        }
    )

    items: list[WorkflowOut]
    total: int
    page: int
    page_size: int


class WorkflowVersionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.VERSIONS[1]]})

    version: int
    created_at: datetime
    definition: dict[str, Any]


class WorkflowVersions(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"workflow_id": examples.WORKFLOW_ID, "items": examples.VERSIONS}]
        }
    )

    workflow_id: str
    items: list[WorkflowVersionOut]


class KeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"scopes": ["executions:read"], "name": "dashboard"}]},
    )

    scopes: list[str] = Field(min_length=1)
    name: str | None = Field(default=None, max_length=200)


class KeyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.KEY]})

    id: str
    project_id: str
    name: str | None
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class KeyCreated(KeyOut):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.KEY_CREATED]})

    key: str = Field(description="The key itself; shown once, stored only as a digest")


class KeyList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [examples.DEV_KEY, examples.KEY]}]}
    )

    items: list[KeyOut]
