"""Wire bodies of the `/v1` surface's runs (seed 001); jobs, their dependencies and schedules
are in `job_schemas`. Their OpenAPI examples live in `examples`."""

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
    model_validator,
)

from ferryman import search_attributes as sa
from ferryman.api.surfaces.v1 import examples
from ferryman.statuses import Status as RunStatus


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

    model_config = ConfigDict(json_schema_extra={"examples": [examples.TRACE]})

    queue_wait_ms: float | None = None
    dequeue_ms: float | None = None
    connect_ms: float | None = None
    ttfb_ms: float | None = None
    transfer_ms: float | None = None
    total_ms: float | None = None
    dispatch_ms: float | None = None


class RunUsage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.USAGE]})

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_microusd: int = 0
    calls: int = Field(default=0, description="Model calls")


class Run(BaseModel):
    """One run (an execution), as seed 001 shows it."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.RUN_BRIEF]})

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
        default=None,
        description="Tokens and cost of the run's `llm` steps, a failed one's calls included",
    )


class RunOverrides(BaseModel):
    """Run-level settings a trigger may impose on every step of the run."""

    max_attempts_override: int | None = Field(default=None, ge=1, le=100)
    timeout_secs_override: float | None = Field(default=None, gt=0, le=7 * 86_400)
    retry_backoff: Backoff | None = None
    retry_initial_delay_secs: float | None = Field(default=None, ge=0, le=86_400)
    retry_max_delay_secs: float | None = Field(default=None, ge=0, le=7 * 86_400)


class TriggerRequest(RunOverrides):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [examples.TRIGGER]})

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
        if value is not None and not sa.printable(value):
            raise ValueError("may not contain control characters")
        return value

    @field_validator("tags")
    @classmethod
    def _printable_tags(cls, tags: dict[str, str]) -> dict[str, str]:
        # A tag is a value of the FerrymanTags attribute: one no filter could ever name.
        if not all(sa.printable(key) and sa.printable(value) for key, value in tags.items()):
            raise ValueError("tag keys and values may not contain control characters")
        return tags

    @model_validator(mode="after")
    def _expires_after_its_start(self) -> TriggerRequest:
        if self.scheduled_at and self.expires_at and self.expires_at <= self.scheduled_at:
            raise ValueError(
                f"expires_at ({self.expires_at.isoformat()}) must be later than scheduled_at "
                f"({self.scheduled_at.isoformat()}): the run could only expire"
            )
        return self


class RescheduleRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"scheduled_at": "2026-12-01T09:00:00Z"}]}
    )

    scheduled_at: Moment = Field(description="The delayed run's new start time")


class BatchTriggerRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.BATCH_TRIGGER]}
    )

    items: list[TriggerRequest] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _a_key_per_run(self) -> BatchTriggerRequest:
        # The second item under a key would only answer the first one's run.
        first: dict[str, int] = {}
        for index, item in enumerate(self.items):
            key = item.idempotency_key
            if key is not None and first.setdefault(key, index) != index:
                raise ValueError(
                    f"items.{index}.idempotency_key repeats items.{first[key]}'s ({key!r}); "
                    "each run of a batch needs its own key"
                )
        return self


class BatchTriggered(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"batch_id": examples.BATCH_ID, "runs": examples.BATCH_RUNS}]
        }
    )

    batch_id: str
    runs: list[Run]


class RunIds(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"run_ids": [examples.RUN_ID]}]}
    )

    run_ids: list[str] = Field(min_length=1, max_length=100)


class BulkItem(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": examples.BULK_ITEMS[1:]})

    id: str
    status: str = Field(description="The run's status after the call, or `error`")
    error: str | None = None


class BulkResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"results": examples.BULK_ITEMS, "total": 3, "canceled": 2, "failed": 1}]
        }
    )

    results: list[BulkItem]
    total: int
    canceled: int = Field(description="Runs canceled")
    failed: int


class DlqReplayed(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"replayed": [examples.REPLAYED_RUN], "count": 1}]}
    )

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
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"run_id": examples.RUN_ID, "debug_mode": True}]}
    )

    run_id: str
    debug_mode: bool


class IdempotencyReset(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "reset", "run_id": examples.RUN_ID}]}
    )

    status: str = Field(examples=["reset"], description="`reset`, or `none` if it had no key")
    run_id: str


class RunEvent(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.EVENTS[8]]})

    id: str = Field(description="Increases along the run; send it back as `after`")
    run_id: str
    type: str = Field(examples=["step.completed"])
    level: str
    message: str
    data: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime


class RunCheckpoint(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CHECKPOINTS[2]]})

    id: str
    run_id: str
    sequence: int
    source: str = Field(description="The step it follows, or `start`, `replay`, `rollback`...")
    state: dict[str, Any]
    created_at: datetime


class StepState(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.DRAFT_STATE]})

    status: str
    attempts: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    output: Any = None
    error: str | None = None


class RunState(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.RUN_STATE]})

    run_id: str
    status: RunStatus
    source: Literal["query", "history"] = Field(
        description="`query` when a worker answered live, `history` when folded from it"
    )
    steps: dict[str, StepState]
    outputs: dict[str, Any]


class Usage(BaseModel):
    """One model call: its tokens and cost (`FERRYMAN_LLM_PRICES`)."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.MODEL_CALLS})

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

    model_config = ConfigDict(json_schema_extra={"examples": [examples.TOOL_CALL]})

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

    model_config = ConfigDict(
        populate_by_name=True, json_schema_extra={"examples": [examples.OUTPUT]}
    )


class DebugBundle(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.DEBUG_BUNDLE]})

    run: Run
    events: list[RunEvent]
    checkpoints: list[RunCheckpoint]
    usage: list[Usage]
    tool_calls: list[ToolCall]
    outputs: list[StructuredOutput]
    history: dict[str, Any] = Field(
        description="The Temporal history, as `temporal workflow show --output json` prints it"
    )
