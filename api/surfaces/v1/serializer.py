"""The `/v1` surface's one serializer: domain objects to seed 001's wire bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from ferryman.api.definitions import StoredDefinition
from ferryman.api.executions.ai import AiRecords
from ferryman.api.executions.bulk import Outcome
from ferryman.api.executions.dependencies import RunDependencies
from ferryman.api.executions.events import Event
from ferryman.api.executions.history import FoldedHistory, StepRecord
from ferryman.api.executions.ids import checkpoint_id
from ferryman.api.executions.reader import LiveState
from ferryman.api.executions.schedules import ScheduleView
from ferryman.api.executions.view import ExecutionView
from ferryman.api.surfaces.v1 import job_schemas, schemas
from ferryman.statuses import Condition
from ferryman.workflows import models as m
from ferryman.workflows.dsl import WorkflowDefinition


def run(view: ExecutionView) -> schemas.Run:
    retry, overrides = view.run.retry, view.run.overrides
    return schemas.Run(
        id=view.id,
        job_id=view.workflow_id,
        project_id=view.project_id,
        status=view.status,
        attempt=view.attempt or (1 if view.started_at else 0),
        payload=view.input,
        result=view.output,
        metadata=view.metadata,
        error=(view.error.cause or view.error.status) if view.error else None,
        triggered_by=view.triggered_by,
        scheduled_at=view.scheduled_at,
        started_at=view.started_at,
        finished_at=view.completed_at,
        heartbeat_at=view.heartbeat_at,
        next_retry_at=view.next_retry_at,
        expires_at=view.expires_at,
        parent_run_id=view.parent_run_id,
        priority=view.priority,
        idempotency_key=view.run.idempotency_key,
        job_version=view.version,
        workflow_step_run_id=view.run.workflow_step_run_id,
        max_attempts_override=overrides.get("max_attempts"),
        timeout_secs_override=overrides.get("timeout_secs"),
        retry_backoff=retry.get("backoff"),
        retry_initial_delay_secs=retry.get("initial_delay_secs"),
        retry_max_delay_secs=retry.get("max_delay_secs"),
        execution_trace=trace(view),
        debug_mode=view.debug_mode,
        continuation_of=view.continuation_of,
        lineage_depth=view.lineage_depth,
        tags=view.run.tags,
        job_version_id=view.run.job_version_id,
        created_by=view.run.created_by,
        batch_id=view.batch_id,
        concurrency_key=view.concurrency_key,
        created_at=view.created_at,
        usage=schemas.RunUsage(**view.usage) if view.usage else None,
    )


def usage(run_id: str, records: AiRecords) -> list[schemas.Usage]:
    return [
        schemas.Usage(
            id=call.id,
            run_id=run_id,
            step_id=call.step_id,
            provider=call.provider,
            model=call.model,
            prompt_tokens=call.prompt_tokens,
            completion_tokens=call.completion_tokens,
            total_tokens=call.total_tokens,
            cost_microusd=call.cost_microusd,
            created_at=call.created_at,
        )
        for call in records.model_calls
    ]


def tool_calls(run_id: str, records: AiRecords) -> list[schemas.ToolCall]:
    return [
        schemas.ToolCall(
            id=call.id,
            run_id=run_id,
            step_id=call.step_id,
            tool_name=call.tool_name,
            input=call.input,
            output=call.output,
            duration_ms=call.duration_ms,
            status=call.status,
            created_at=call.created_at,
        )
        for call in records.tool_calls
    ]


def outputs(run_id: str, records: AiRecords) -> list[schemas.StructuredOutput]:
    return [
        schemas.StructuredOutput(
            id=output.id,
            run_id=run_id,
            output_key=output.step_id,
            schema_=output.schema,
            value=output.value,
            created_at=output.created_at,
        )
        for output in records.outputs
    ]


def dependency_status(found: RunDependencies) -> job_schemas.DependencyStatus:
    view = found.view
    return job_schemas.DependencyStatus(
        run_id=view.id,
        job_id=view.workflow_id,
        status=view.status,
        dependencies=[
            job_schemas.DependencyState(
                **state.dependency.model_dump(),
                satisfied=state.satisfied,
                latest_run_id=state.latest.id if state.latest else None,
                latest_run_status=state.latest.status if state.latest else None,
            )
            for state in found.states
        ],
        dependencies_satisfied=found.satisfied,
    )


def trace(view: ExecutionView) -> schemas.ExecutionTrace:
    """What the run recorded (memo), completed by its history's timings when read alone."""
    recorded = view.trace
    timings = view.timings
    end = view.closed_at or datetime.now(UTC)
    total = round((end - view.created_at).total_seconds() * 1000, 3) if view.created_at else None
    return schemas.ExecutionTrace(
        queue_wait_ms=recorded.get("queue_wait_ms")
        if "queue_wait_ms" in recorded
        else (timings.queue_wait_ms if timings else None),
        dequeue_ms=timings.dequeue_ms if timings else None,
        connect_ms=recorded.get("connect_ms", 0.0),
        ttfb_ms=recorded.get("ttfb_ms", 0.0),
        transfer_ms=recorded.get("transfer_ms", 0.0),
        total_ms=total,
        dispatch_ms=timings.dispatch_ms if timings else None,
    )


def event(run_id: str, found: Event) -> schemas.RunEvent:
    return schemas.RunEvent(
        id=str(found.id),
        run_id=run_id,
        type=found.type,
        level=found.level,
        message=found.message,
        data=found.data,
        created_at=found.created_at,
    )


def checkpoints(run_id: str, folded: FoldedHistory) -> list[schemas.RunCheckpoint]:
    """The checkpoints in force, each with the whole state right after it."""
    return [
        schemas.RunCheckpoint(
            id=checkpoint_id(run_id, c.sequence),
            run_id=run_id,
            sequence=c.sequence,
            source=c.step_id,
            state=folded.state_at(c.sequence),
            created_at=c.created_at,
        )
        for c in folded.log.in_force
    ]


def _step(record: StepRecord) -> schemas.StepState:
    return schemas.StepState(
        status=record.status.value,
        attempts=record.attempts,
        started_at=record.started_at,
        completed_at=record.completed_at,
        output=record.output,
        error=record.error,
    )


def state(live: LiveState) -> schemas.RunState:
    return schemas.RunState(
        run_id=live.view.id,
        status=live.view.status,
        source="query" if live.source == "query" else "history",
        steps={step_id: _step(record) for step_id, record in live.steps.items()},
        outputs=live.outputs,
    )


def bulk(outcomes: list[Outcome]) -> schemas.BulkResult:
    """Per-run results: `canceled` counts the runs the action succeeded on."""
    return schemas.BulkResult(
        results=[schemas.BulkItem(id=o.run_id, status=o.status, error=o.error) for o in outcomes],
        total=len(outcomes),
        canceled=sum(1 for o in outcomes if o.error is None),
        failed=sum(1 for o in outcomes if o.error is not None),
    )


def job(stored: StoredDefinition) -> job_schemas.Job:
    try:
        definition = WorkflowDefinition.model_validate(stored.document)
    except ValidationError:  # stored under an older, looser rule: show the DSL's defaults
        definition = WorkflowDefinition.model_construct(name=stored.name, steps=[])
    defaults = definition.defaults
    return job_schemas.Job(
        id=stored.slug,
        name=stored.name,
        description=stored.description,
        job_version=stored.version,
        job_version_id=stored.version_id,
        latest_version=stored.latest_version,
        disabled=stored.disabled,
        defaults=job_schemas.JobDefaults(
            max_attempts=defaults.retry.max_attempts,
            retry_backoff=defaults.retry.backoff,
            retry_initial_delay_secs=defaults.retry.initial_delay_secs,
            retry_max_delay_secs=defaults.retry.max_delay_secs,
            timeout_secs=defaults.timeout_secs,
            heartbeat_secs=defaults.heartbeat_secs,
        ),
        dead_letter=definition.dead_letter,
        input_schema=definition.input_schema,
        presets=definition.presets,
        definition=stored.document,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
    )


def dependency(stored: m.Dependency) -> job_schemas.Dependency:
    return job_schemas.Dependency(
        id=stored.id,
        job_id=stored.job_id,
        depends_on_job_id=stored.depends_on_job_id,
        condition=Condition(stored.condition),
        created_at=stored.created_at,
    )


def schedule(view: ScheduleView) -> job_schemas.ScheduleOut:
    return job_schemas.ScheduleOut(
        id=view.id,
        job_id=view.job_id,
        job_version=view.job_version,
        cron=view.cron,
        timezone=view.timezone,
        payload=view.payload,
        paused=view.paused,
        next_run_at=view.next_run_at,
        created_at=view.created_at,
    )


def history_json(text: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(text)
    return parsed
