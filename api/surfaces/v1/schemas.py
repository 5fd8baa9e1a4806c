"""Wire bodies of the `/v1` run-management surface (seed 001), with OpenAPI examples."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

from ferryman.api.dependencies import Condition
from ferryman.statuses import Status as RunStatus

RUN_ID_EXAMPLE = "exec_01JD3ZK8Q4V7M2N5P8R1T4W7Y0"


def _rfc3339_text(value: object) -> object:
    # Not a bare number: an epoch would be read in seconds or milliseconds by guess.
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 date-time with a timezone")
    return value


# A moment a caller names: RFC 3339 text with a timezone.
Moment = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text)]
Backoff = Literal["exponential", "linear", "fixed"]


class ExecutionTrace(BaseModel):
    """Where a run's time went. `queue_wait_ms`: creation to the first workflow task;
    `dequeue_ms`: that task's own processing; `dispatch_ms`: its steps' summed
    schedule-to-start; `connect_ms`, `ttfb_ms`, `transfer_ms`: summed over its `http` steps;
    `total_ms`: creation to close (or now). Lists show what the run recorded itself
    (`dequeue_ms` and `dispatch_ms` only come from its history: null there)."""

    queue_wait_ms: float | None = None
    dequeue_ms: float | None = None
    connect_ms: float | None = None
    ttfb_ms: float | None = None
    transfer_ms: float | None = None
    total_ms: float | None = None
    dispatch_ms: float | None = None


class RunUsage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_microusd: int = 0
    calls: int = Field(default=0, description="Model calls")


class Run(BaseModel):
    """One run (an execution), as seed 001 shows it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": RUN_ID_EXAMPLE,
                    "job_id": "welcome-email",
                    "project_id": "default",
                    "status": "completed",
                    "attempt": 1,
                    "payload": {"email": "ada@example.com"},
                    "result": {"sent": True},
                    "triggered_by": "manual",
                    "tags": {"team": "growth"},
                    "created_at": "2026-01-15T10:30:00Z",
                }
            ]
        }
    )

    id: str
    job_id: str
    project_id: str
    status: RunStatus
    attempt: int = Field(description="The current (or last) step's attempt")
    payload: Any = None
    result: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    triggered_by: str | None = None
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = Field(
        default=None, description="The last activity heartbeat (read of one run only)"
    )
    next_retry_at: datetime | None = None
    expires_at: datetime | None = None
    parent_run_id: str | None = None
    priority: int = 0
    idempotency_key: str | None = None
    job_version: int | None = None
    workflow_step_run_id: str | None = None
    max_attempts_override: int | None = None
    timeout_secs_override: float | None = None
    retry_backoff: str | None = None
    retry_initial_delay_secs: float | None = None
    retry_max_delay_secs: float | None = None
    execution_trace: ExecutionTrace = Field(default_factory=ExecutionTrace)
    debug_mode: bool = False
    continuation_of: str | None = None
    lineage_depth: int = 0
    tags: dict[str, str] = Field(default_factory=dict)
    job_version_id: str | None = None
    created_by: str | None = None
    batch_id: str | None = None
    concurrency_key: str | None = None
    created_at: datetime | None = None
    usage: RunUsage | None = Field(
        default=None, description="Tokens and cost of the run's completed `llm` steps"
    )


class RunOverrides(BaseModel):
    """Run-level settings a trigger may impose on every step of the run."""

    max_attempts_override: int | None = Field(default=None, ge=1, le=100)
    timeout_secs_override: float | None = Field(default=None, gt=0, le=7 * 86_400)
    retry_backoff: Backoff | None = None
    retry_initial_delay_secs: float | None = Field(default=None, ge=0, le=86_400)
    retry_max_delay_secs: float | None = Field(default=None, ge=0, le=7 * 86_400)


class TriggerRequest(RunOverrides):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "payload": {"email": "ada@example.com"},
                    "tags": {"team": "growth"},
                    "priority": 5,
                    "idempotency_key": "signup-ada",
                }
            ]
        },
    )

    payload: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict, max_length=64)
    priority: int = Field(default=0, ge=-1000, le=1000, description="Higher runs first")
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=256)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)
    debug_mode: bool = False
    scheduled_at: Moment | None = Field(
        default=None,
        description="Start no earlier than this (RFC 3339 with a zone): `delayed` until then; "
        "`POST /v1/runs/{id}/reschedule` moves it",
    )
    expires_at: Moment | None = Field(
        default=None,
        description="If no step has started by then (still delayed, waiting or queued), the "
        "run ends `expired`",
    )
    concurrency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="The job's concurrency limit applies per key; default: the job's "
        "`concurrency.key` rendered over the payload, else the job id",
    )

    @field_validator("concurrency_key")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and any(ord(char) < 0x20 for char in value):
            raise ValueError("may not contain control characters")
        return value


class RescheduleRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"scheduled_at": "2026-12-01T09:00:00Z"}]}
    )

    scheduled_at: Moment = Field(description="The delayed run's new start time")


class BatchTriggerRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"items": [{"payload": {"n": 1}}, {"payload": {"n": 2}}]}]},
    )

    items: list[TriggerRequest] = Field(min_length=1, max_length=100)


class BatchTriggered(BaseModel):
    batch_id: str
    runs: list[Run]


class RunIds(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"run_ids": [RUN_ID_EXAMPLE]}]}
    )

    run_ids: list[str] = Field(min_length=1, max_length=100)


class BulkItem(BaseModel):
    id: str
    status: str = Field(description="The run's status after the call, or `error`")
    error: str | None = None


class BulkResult(BaseModel):
    results: list[BulkItem]
    total: int
    canceled: int = Field(description="Runs canceled (bulk-cancel) or replayed (bulk-replay)")
    failed: int


class DlqReplayed(BaseModel):
    replayed: list[Run]
    count: int


class RestartRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"payload": {"email": "b@example.com"}}]}
    )

    preset: str | None = Field(
        default=None, max_length=100, description="A payload preset of the job, under `payload`"
    )
    payload: dict[str, Any] | None = None
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class DebugRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"enabled": True}]})

    enabled: bool


class DebugState(BaseModel):
    run_id: str
    debug_mode: bool


class IdempotencyReset(BaseModel):
    status: str = Field(examples=["reset"], description="`reset`, or `none` if it had no key")
    run_id: str


class RunEvent(BaseModel):
    id: str = Field(description="Increases along the run; send it back as `after`")
    run_id: str
    type: str = Field(examples=["step.completed"])
    level: str
    message: str
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime


class RunCheckpoint(BaseModel):
    id: str
    run_id: str
    sequence: int
    source: str = Field(description="The step it follows, or `start`, `replay`, `rollback`...")
    state: dict[str, Any]
    created_at: datetime


class StepState(BaseModel):
    status: str
    attempts: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    output: Any = None
    error: str | None = None


class RunState(BaseModel):
    run_id: str
    status: RunStatus
    source: Literal["query", "history"] = Field(
        description="`query` when a worker answered live, `history` when folded from it"
    )
    steps: dict[str, StepState]
    outputs: dict[str, Any]


class Usage(BaseModel):
    """One model call: its tokens and cost (`FERRYMAN_LLM_PRICES`)."""

    id: str = Field(description="The model call's activity id: `<step>.call<n>#<attempt>`")
    run_id: str
    step_id: str
    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_microusd: int
    created_at: datetime


class ToolCall(BaseModel):
    """One tool call a model made, run as the activity of its name."""

    id: str = Field(description="The tool call's activity id: `<step>.tool<n>#<attempt>`")
    run_id: str
    step_id: str
    tool_name: str
    input: Any = None
    output: Any = None
    duration_ms: float | None = Field(description="Null while it runs")
    status: str = Field(description="running, completed, or failed (the model was told why)")
    created_at: datetime


class StructuredOutput(BaseModel):
    id: str
    run_id: str
    output_key: str
    schema_: dict[str, Any] = Field(alias="schema")
    value: Any = None
    created_at: datetime

    model_config = ConfigDict(populate_by_name=True)


class DebugBundle(BaseModel):
    run: Run
    events: list[RunEvent]
    checkpoints: list[RunCheckpoint]
    usage: list[Usage]
    tool_calls: list[ToolCall]
    outputs: list[StructuredOutput]
    history: dict[str, Any] = Field(
        description="The Temporal history, as `temporal workflow show --output json` prints it"
    )


CONDITIONS = (
    "`completed`, `failed` or `finished` (either): what the latest run of `depends_on_job_id` "
    "(in the same batch when the run has one) must have done before a run of the job starts"
)


class DependencyRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"depends_on_job_id": "import-orders", "condition": "completed"}]
        },
    )

    depends_on_job_id: str = Field(
        min_length=1, max_length=63, description="The job waited on, of the same project"
    )
    condition: Condition = Field(description=CONDITIONS)


class Dependency(BaseModel):
    """A job's runs wait until the latest run of `depends_on_job_id` meets `condition`."""

    # Examples per field: `DependencyState` extends this body.
    id: str = Field(examples=["dep_01JD3ZK8Q4V7M2N5P8R1T4W7Y0"])
    job_id: str = Field(examples=["ship-orders"], description="The job whose runs wait")
    depends_on_job_id: str = Field(examples=["import-orders"])
    condition: Condition = Field(examples=[Condition.COMPLETED])
    created_at: datetime


class DependencyState(Dependency):
    """One dependency of a run's job, and how it stands now."""

    satisfied: bool = Field(description="Whether the latest run meets the condition now")
    latest_run_id: str | None = Field(
        default=None, description="The latest run of `depends_on_job_id` (in the run's batch)"
    )
    latest_run_status: RunStatus | None = None


class DependencyStatus(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "run_id": RUN_ID_EXAMPLE,
                    "job_id": "publish-report",
                    "status": "waiting",
                    "dependencies": [],
                    "dependencies_satisfied": False,
                }
            ]
        }
    )

    run_id: str
    job_id: str
    status: RunStatus
    dependencies: list[DependencyState]
    dependencies_satisfied: bool = Field(
        description="While the run waits: whether every dependency holds now. Once it has "
        "gone past waiting: whether they held (true), or it expired first (false)"
    )


class JobDefaults(BaseModel):
    max_attempts: int
    retry_backoff: str
    retry_initial_delay_secs: float
    retry_max_delay_secs: float
    timeout_secs: float
    heartbeat_secs: float | None = None


class Job(BaseModel):
    """A job: a workflow definition (the same rows as `/api/v1/workflows`) with its run
    defaults."""

    id: str = Field(examples=["welcome-email"])
    name: str
    description: str | None = None
    job_version: int
    job_version_id: str
    latest_version: int
    disabled: bool
    defaults: JobDefaults
    dead_letter: bool
    input_schema: dict[str, Any] | None = None
    presets: dict[str, dict[str, Any]] = Field(default_factory=dict)
    definition: dict[str, Any]
    created_at: datetime
    updated_at: datetime


SCHEDULE_ID_EXAMPLE = "sched_01JD3ZK8Q4V7M2N5P8R1T4W7Y0"


class ScheduleCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "job_id": "daily-report",
                    "cron": "0 6 * * 1-5",
                    "payload": {"team": "growth"},
                    "timezone": "Europe/Paris",
                }
            ]
        },
    )

    job_id: str = Field(min_length=1, max_length=63, description="The job each firing runs")
    cron: str = Field(
        min_length=1,
        max_length=256,
        description=(
            "One cron expression in Temporal's grammar: 5 fields (minute hour day-of-month "
            "month day-of-week), 6 (a year after them), 7 (a second before them), "
            "`@daily`-style shorthands, or `@every 10m`"
        ),
    )
    payload: dict[str, Any] = Field(
        default_factory=dict, description="Every run's payload, checked against the job's schema"
    )
    timezone: str = Field(
        default="UTC", min_length=1, max_length=64, description="An IANA time zone name"
    )


class ScheduleOut(BaseModel):
    """A cron schedule: every firing starts a run of `job_id` (`triggered_by: cron`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": SCHEDULE_ID_EXAMPLE,
                    "job_id": "daily-report",
                    "job_version": 3,
                    "cron": "0 6 * * 1-5",
                    "timezone": "Europe/Paris",
                    "payload": {"team": "growth"},
                    "paused": False,
                    "next_run_at": "2026-11-25T05:00:00Z",
                    "created_at": "2026-11-24T09:12:31Z",
                }
            ]
        }
    )

    id: str
    job_id: str
    job_version: int | None = Field(
        default=None, description="The job version every run starts with (pinned at creation)"
    )
    cron: str
    timezone: str
    payload: Any = None
    paused: bool
    next_run_at: datetime | None = Field(
        default=None, description="The next firing; null while paused"
    )
    created_at: datetime | None = None


class ScheduleDeleted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": SCHEDULE_ID_EXAMPLE, "deleted": True}]}
    )

    id: str
    deleted: bool = True
