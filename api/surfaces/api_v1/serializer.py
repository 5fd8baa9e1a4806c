"""The `/api/v1` surface's one serializer: domain objects to its wire bodies.

Seeds 000 and 002 name some fields twice (`id`/`execution_id`, `input_data`/`inputs`,
`output_data`/`output`): both are filled. Statuses are this surface's projection
(`statuses.shown`); actions become this surface's URLs.
"""

from __future__ import annotations

from typing import Any

from ferryman.api.definitions import DefinitionVersion, StoredDefinition
from ferryman.api.executions.events import Event, EventPage
from ferryman.api.executions.launch import Launched
from ferryman.api.executions.reader import Page
from ferryman.api.executions.restore import CheckpointState
from ferryman.api.executions.triage import FailurePage, FailureView
from ferryman.api.executions.view import (
    Action,
    ActionKind,
    CheckpointView,
    ExecutionView,
    StepView,
    Stuck,
)
from ferryman.api.store.models import ApiKey
from ferryman.api.surfaces.api_v1 import schemas
from ferryman.api.surfaces.api_v1.statuses import shown, step_status
from ferryman.statuses import Status

PREFIX = "/api/v1"


def execution(view: ExecutionView, row: bool = False) -> schemas.Execution:
    """One execution; a list `row` leaves step results out (`step_outputs` too)."""
    error = view.error
    # Every step as history tells (`include_step_results`), else the finished ones the memo
    # keeps.
    outputs = view.steps if view.steps is not None else view.outputs
    return schemas.Execution(
        id=view.id,
        execution_id=view.id,
        workflow_id=view.workflow_id,
        workflow_name=view.workflow_name,
        version=view.version,
        project_id=view.project_id,
        status=shown(view.status),
        created_at=view.created_at,
        updated_at=view.updated_at,
        started_at=view.started_at,
        completed_at=view.completed_at,
        input_data=view.input,
        inputs=view.input,
        output_data=view.output,
        output=view.output,
        metadata=view.metadata,
        error=error.status if error else None,
        error_cause=error.cause if error else None,
        error_class=error.error_type if error else None,
        failed_step=error.step_id if error else None,
        failed_attempts=error.attempts if error else None,
        bulk_id=view.batch_id,
        continuation_of=view.continuation_of,
        lineage_depth=view.lineage_depth,
        checkpoints=[checkpoint(c) for c in view.checkpoints],
        stuck=stuck(view.stuck) if view.stuck else None,
        waiting_on=[
            schemas.WaitingOn(
                step=w.step_id,
                kind=w.kind,
                since=w.since,
                signal=w.signal,
                until=w.until,
                run_id=w.run_id,
            )
            for w in view.waiting_on
        ],
        steps=[step_result(i, s) for i, s in enumerate(view.steps)]
        if view.steps is not None
        else None,
        step_outputs={s.step_id: step_output(s) for s in outputs}
        if outputs is not None and not row
        else None,
    )


def page(
    result: Page, page: int | None = None, page_size: int | None = None
) -> schemas.ExecutionPage:
    return schemas.ExecutionPage(
        items=[execution(view, row=True) for view in result.views],
        total=result.total,
        page=page,
        page_size=page_size,
        next_cursor=result.next_cursor,
    )


def created(launched: Launched) -> schemas.ExecutionCreated:
    return schemas.ExecutionCreated(
        id=launched.execution_id,
        execution_id=launched.execution_id,
        workflow_id=launched.workflow_id,
        status=shown(launched.status),
        created_at=launched.created_at,
    )


def accepted(launched: Launched) -> schemas.ExecutionAccepted:
    return schemas.ExecutionAccepted(
        execution_id=launched.execution_id,
        workflow_id=launched.workflow_id,
        status=shown(launched.status),
        created_at=launched.created_at,
    )


def control(execution_id: str, status: Status) -> schemas.ControlResult:
    return schemas.ControlResult(execution_id=execution_id, status=shown(status))


def checkpoint(view: CheckpointView) -> schemas.CheckpointOut:
    return schemas.CheckpointOut(
        id=view.id, name=view.step_id, sequence=view.sequence, created_at=view.created_at
    )


def checkpoint_state(found: CheckpointState) -> schemas.CheckpointState:
    return schemas.CheckpointState(**checkpoint(found.checkpoint).model_dump(), state=found.state)


def step_result(index: int, step: StepView) -> schemas.StepResult:
    return schemas.StepResult(
        index=index,
        step_id=step.step_id,
        kind=step.kind,
        status=step_status(step.status),
        result=step.output,
        attempts=step.attempts,
        started_at=step.started_at,
        completed_at=step.completed_at,
        error=step.error,
    )


def step_output(step: StepView) -> schemas.StepOutput:
    metadata: dict[str, Any] = {"kind": step.kind, "attempts": step.attempts}
    if step.activity:
        metadata["activity"] = step.activity
    llm = step.details.get("llm")
    if isinstance(llm, dict):
        # Seed 003's shape for model steps: the model, the version its provider answered
        # with, and the prompt's parameters.
        metadata |= {
            "model": llm.get("model"),
            "version": step.details.get("version"),
            "params": llm.get("params") or {},
        }
    return schemas.StepOutput(
        step_id=step.step_id,
        status=step_status(step.status),
        started_at=step.started_at,
        completed_at=step.completed_at,
        output=step.output,
        primary=step.primary,
        metadata=metadata,
    )


_ENDPOINTS: dict[ActionKind, str] = {
    ActionKind.TERMINATE: "/executions/{id}/stop?force=true",
    ActionKind.PAUSE: "/executions/{id}/pause",
    ActionKind.ROLLBACK: "/executions/{id}/rollback",
    ActionKind.REPLAY_FROM_LAST_CHECKPOINT: "/executions/{id}/replay",
    ActionKind.REPLAY_FROM_START: "/executions/{id}/replay",
}


def action(taken: Action) -> schemas.Action:
    return schemas.Action(
        action=taken.kind.value,
        description=taken.description,
        method="POST",
        endpoint=PREFIX + _ENDPOINTS[taken.kind].format(id=taken.execution_id),
        body=taken.body,
    )


def stuck(found: Stuck) -> schemas.Stuck:
    return schemas.Stuck(
        reason=found.reason,
        since=found.since,
        detail=found.detail,
        actions=[action(a) for a in found.actions],
    )


def failure(found: FailureView) -> schemas.Failure:
    view = found.execution
    error = view.error
    return schemas.Failure(
        execution_id=view.id,
        workflow_id=view.workflow_id,
        workflow_name=view.workflow_name,
        status=shown(view.status).value,
        error=error.status if error else None,
        error_class=error.error_type if error else None,
        failed_step=error.step_id if error else None,
        attempts=error.attempts if error else None,
        last_error=error.cause if error else None,
        failed_at=view.completed_at,
        stuck=stuck(view.stuck) if view.stuck else None,
        actions=[action(a) for a in found.actions],
    )


def failures(found: FailurePage) -> schemas.FailurePage:
    return schemas.FailurePage(
        items=[failure(f) for f in found.items], total=found.total, next_cursor=found.next_cursor
    )


def event(found: Event) -> schemas.Event:
    return schemas.Event(
        id=found.id,
        type=found.type,
        level=found.level,
        message=found.message,
        data=found.data,
        created_at=found.created_at,
    )


def events(found: EventPage) -> schemas.EventPage:
    return schemas.EventPage(items=[event(e) for e in found.items], next_cursor=found.next_cursor)


def workflow(stored: StoredDefinition) -> schemas.WorkflowOut:
    return schemas.WorkflowOut(
        id=stored.slug,
        name=stored.name,
        description=stored.description,
        version=stored.version,
        latest_version=stored.latest_version,
        disabled=stored.disabled,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
        definition=stored.document,
    )


def workflow_version(stored: DefinitionVersion) -> schemas.WorkflowVersionOut:
    return schemas.WorkflowVersionOut(
        version=stored.version, created_at=stored.created_at, definition=stored.document
    )


def key(stored: ApiKey) -> schemas.KeyOut:
    return schemas.KeyOut(
        id=stored.id,
        project_id=stored.project_id,
        name=stored.name,
        prefix=stored.prefix,
        scopes=list(stored.scopes),
        created_at=stored.created_at,
        last_used_at=stored.last_used_at,
        revoked_at=stored.revoked_at,
    )
