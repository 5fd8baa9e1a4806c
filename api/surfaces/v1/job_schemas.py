"""Wire bodies of the `/v1` surface's jobs, job dependencies and cron schedules (seed 001).
Their OpenAPI examples live in `examples`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ferryman.api.surfaces.v1 import examples
from ferryman.statuses import Condition
from ferryman.statuses import Status as RunStatus

CONDITIONS = (
    "`completed`, `failed` or `finished` (either): what the latest run of `depends_on_job_id` "
    "(in the same batch when the run has one) must have done before a run of the job starts"
)


class DependencyRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.DEPENDENCY_REQUEST]}
    )

    depends_on_job_id: str = Field(
        min_length=1, max_length=63, description="The job waited on, of the same project"
    )
    condition: Condition = Field(description=CONDITIONS)


class Dependency(BaseModel):
    """A job's runs wait until the latest run of `depends_on_job_id` meets `condition`."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.DEPENDENCY]})

    # Examples per field too; `DependencyState`, which extends this body, has its own.
    id: str = Field(examples=[examples.DEPENDENCY_ID])
    job_id: str = Field(examples=["ship-orders"], description="The job whose runs wait")
    depends_on_job_id: str = Field(examples=["import-orders"])
    condition: Condition = Field(examples=[Condition.COMPLETED])
    created_at: datetime


class DependencyState(Dependency):
    """One dependency of a run's job, and how it stands now."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.DEPENDENCY_STATE]})

    satisfied: bool = Field(description="Whether the latest run meets the condition now")
    latest_run_id: str | None = Field(
        default=None, description="The latest run of `depends_on_job_id` (in the run's batch)"
    )
    latest_run_status: RunStatus | None = None


class DependencyStatus(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.DEPENDENCY_STATUS]})

    run_id: str
    job_id: str
    status: RunStatus
    dependencies: list[DependencyState]
    dependencies_satisfied: bool = Field(
        description="While the run waits: whether every dependency holds now. Once it has "
        "gone past waiting: whether they held (true), or it expired first (false)"
    )


class JobDefaults(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.JOB_DEFAULTS]})

    max_attempts: int
    retry_backoff: str
    retry_initial_delay_secs: float
    retry_max_delay_secs: float
    timeout_secs: float
    heartbeat_secs: float | None = None


class Job(BaseModel):
    """A job: a workflow definition (the same rows as `/api/v1/workflows`) with its run
    defaults."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.JOB]})

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


class ScheduleCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [examples.SCHEDULE_CREATE]}
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

    model_config = ConfigDict(json_schema_extra={"examples": [examples.SCHEDULE]})

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
        json_schema_extra={"examples": [{"id": examples.SCHEDULE_ID, "deleted": True}]}
    )

    id: str
    deleted: bool = True
