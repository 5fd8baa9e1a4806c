"""Executions (surface 1): create, list, read, stop, pause, resume."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse

from ferryman.api import schemas
from ferryman.api.auth import Execute, Principal, ReadExecutions
from ferryman.api.definitions import DefinitionService
from ferryman.api.deps import DefinitionsDep, ExecutionsDep, IdempotencyDep
from ferryman.api.errors import InvalidInput
from ferryman.api.idempotency import IdempotencyService, IdempotentRequest, Producer
from ferryman.api.schemas import ErrorBody
from ferryman.api.temporal_service import ExecutionService, new_execution_id
from ferryman.statuses import ExecutionStatus, Status, to_execution_status

router = APIRouter(prefix="/api/v1", tags=["executions"])

ExecutionId = Annotated[str, Path(max_length=64, description="The execution id (`exec_...`)")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=256,
        description="Retry-safe creation: the same key and body give the same execution",
    ),
]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 422)
}


async def _start(
    definitions: DefinitionService,
    executions: ExecutionService,
    principal: Principal,
    workflow_id: str,
    input_data: dict[str, Any],
    metadata: dict[str, Any],
    version: int | None,
    execution_id: str | None = None,
) -> tuple[str, datetime]:
    definition, pinned = await definitions.resolve(principal.project_id, workflow_id, version)
    definitions.check_input(definition, input_data, metadata)
    return await executions.start(
        project_id=principal.project_id,
        workflow_id=workflow_id,
        version=pinned,
        definition=definition,
        input_data=input_data,
        metadata=metadata,
        execution_id=execution_id,
    )


async def _once(
    idempotency: IdempotencyService,
    principal: Principal,
    scope: str,
    key: str | None,
    body: Any,
    produce: Producer,
) -> JSONResponse:
    """Answer through the idempotency keys when the client sent one."""
    if key is None:
        status_code, answer = await produce(new_execution_id())
        return JSONResponse(answer, status_code=status_code)
    request = IdempotentRequest(principal.project_id, scope, key, body)
    return await idempotency.respond(request, new_execution_id(), produce)


@router.post(
    "/executions",
    status_code=201,
    response_model=schemas.ExecutionCreated,
    responses=ERRORS,
    summary="Create an execution of a workflow",
)
async def create_execution(
    body: schemas.CreateExecution,
    principal: Execute,
    definitions: DefinitionsDep,
    executions: ExecutionsDep,
    idempotency: IdempotencyDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce(execution_id: str) -> tuple[int, dict[str, Any]]:
        _, created_at = await _start(
            definitions,
            executions,
            principal,
            body.workflow_id,
            body.input_data,
            body.metadata,
            body.version,
            execution_id,
        )
        created = schemas.ExecutionCreated(
            id=execution_id,
            execution_id=execution_id,
            workflow_id=body.workflow_id,
            status=ExecutionStatus.QUEUED,
            created_at=created_at,
        )
        return 201, created.model_dump(mode="json")

    key = idempotency_key or body.idempotency_key
    request_body = body.model_dump(mode="json", exclude={"idempotency_key"})
    return await _once(idempotency, principal, "executions", key, request_body, produce)


@router.post(
    "/workflows/{workflow_id}/run-async",
    status_code=202,
    response_model=schemas.ExecutionAccepted,
    responses=ERRORS,
    summary="Run a workflow in the background; the body is its input",
)
async def run_async(
    workflow_id: Annotated[str, Path(max_length=63)],
    principal: Execute,
    definitions: DefinitionsDep,
    executions: ExecutionsDep,
    idempotency: IdempotencyDep,
    input_data: Annotated[
        dict[str, Any] | None, Body(examples=[{"email": "ada@example.com"}])
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce(execution_id: str) -> tuple[int, dict[str, Any]]:
        _, created_at = await _start(
            definitions,
            executions,
            principal,
            workflow_id,
            input_data or {},
            {},
            None,
            execution_id,
        )
        accepted = schemas.ExecutionAccepted(
            execution_id=execution_id,
            workflow_id=workflow_id,
            status=ExecutionStatus.QUEUED,
            created_at=created_at,
        )
        return 202, accepted.model_dump(mode="json")

    body = {"workflow_id": workflow_id, "input": input_data or {}}
    return await _once(idempotency, principal, "run-async", idempotency_key, body, produce)


@router.get(
    "/executions",
    response_model=schemas.ExecutionPage,
    responses=ERRORS,
    summary="List executions (page or cursor pagination)",
    description=(
        "Open executions first, newest start first, then closed ones, newest close first "
        "(Temporal's list order). Page mode: `page` and `page_size`, up to 1000 rows deep. "
        "Cursor mode (when `limit` or `after` is given): pass `next_cursor`, or the id of the "
        "last execution seen, as `after`."
    ),
)
async def list_executions(
    principal: ReadExecutions,
    executions: ExecutionsDep,
    workflow_id: Annotated[str | None, Query(max_length=63)] = None,
    status: ExecutionStatus | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    after: Annotated[str | None, Query(max_length=2048)] = None,
) -> schemas.ExecutionPage:
    if limit is not None or after is not None:
        return await executions.list_cursor(
            principal.project_id,
            workflow_id=workflow_id,
            status=status,
            limit=limit or 20,
            after=after,
        )
    return await executions.list_page(
        principal.project_id,
        workflow_id=workflow_id,
        status=status,
        page=page,
        page_size=page_size,
    )


@router.get(
    "/executions/{execution_id}",
    response_model=schemas.Execution,
    responses=ERRORS,
    summary="Read one execution (cheap to poll; step results on request)",
)
async def get_execution(
    execution_id: ExecutionId,
    principal: ReadExecutions,
    executions: ExecutionsDep,
    include_step_results: bool = False,
) -> schemas.Execution:
    return await executions.get(principal.project_id, execution_id, include_step_results)


def _control(execution_id: str, status: Status) -> schemas.ControlResult:
    return schemas.ControlResult(execution_id=execution_id, status=to_execution_status(status))


@router.post(
    "/executions/{execution_id}/stop",
    response_model=schemas.ControlResult,
    responses=ERRORS,
    summary="Stop an execution: in-flight steps are cancelled; `force` terminates at once",
)
async def stop_execution(
    execution_id: ExecutionId,
    principal: Execute,
    executions: ExecutionsDep,
    idempotency: IdempotencyDep,
    force: bool = False,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    async def produce(_: str) -> tuple[int, dict[str, Any]]:
        status = await executions.stop(principal.project_id, execution_id, force)
        return 200, _control(execution_id, status).model_dump(mode="json")

    body = {"force": force}
    scope = f"stop:{execution_id}"
    return await _once(idempotency, principal, scope, idempotency_key, body, produce)


@router.post(
    "/executions/{execution_id}/pause",
    response_model=schemas.ControlResult,
    responses=ERRORS,
    summary="Pause between steps and attempts (running steps finish)",
)
async def pause_execution(
    execution_id: ExecutionId, principal: Execute, executions: ExecutionsDep
) -> schemas.ControlResult:
    return _control(execution_id, await executions.pause(principal.project_id, execution_id))


@router.post(
    "/executions/{execution_id}/resume",
    response_model=schemas.ControlResult,
    responses=ERRORS,
    summary="Resume a paused execution",
)
async def resume_execution(
    execution_id: ExecutionId, principal: Execute, executions: ExecutionsDep
) -> schemas.ControlResult:
    return _control(execution_id, await executions.resume(principal.project_id, execution_id))


@router.post(
    "/executions/{execution_id}/signal",
    response_model=schemas.ControlResult,
    responses=ERRORS,
    summary="Deliver an event to a `wait` step (buffered if the step is not reached yet)",
)
async def signal_execution(
    execution_id: ExecutionId,
    body: schemas.SignalRequest,
    principal: Execute,
    executions: ExecutionsDep,
) -> schemas.ControlResult:
    status = await executions.signal(principal.project_id, execution_id, body.name, body.payload)
    return _control(execution_id, status)


@router.get(
    "/executions/{execution_id}/events",
    response_model=schemas.EventPage,
    responses=ERRORS,
    summary="Events of an execution, translated from its Temporal history",
)
async def list_events(
    execution_id: ExecutionId,
    principal: ReadExecutions,
    executions: ExecutionsDep,
    after: Annotated[int, Query(ge=0, description="Only events with a greater id")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> schemas.EventPage:
    return await executions.events(principal.project_id, execution_id, after, limit)


@router.get(
    "/executions/{execution_id}/stream",
    responses={**ERRORS, 200: {"content": {"text/event-stream": {}}}},
    summary="Server-Sent Events: each new event as it happens; ends when the execution closes",
    description="Reconnect with `Last-Event-ID` (or `?after=`) to get only what was missed.",
)
async def stream_events(
    execution_id: ExecutionId,
    principal: ReadExecutions,
    executions: ExecutionsDep,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0)] = None,
    after: Annotated[int, Query(ge=0)] = 0,
) -> EventSourceResponse:
    start = max(after, last_event_id or 0)
    # Describe first, so an unknown id is a 404 rather than an empty stream.
    await executions.describe(principal.project_id, execution_id)
    events = executions.stream(principal.project_id, execution_id, start)

    async def messages() -> AsyncIterator[dict[str, Any]]:
        async for event in events:
            yield {"id": str(event.id), "event": event.type, "data": event.model_dump_json()}

    return EventSourceResponse(messages(), ping=15)


@router.get(
    "/executions/{execution_id}/checkpoints",
    response_model=schemas.CheckpointList,
    responses=ERRORS,
    summary="Checkpoints of an execution (works with no worker running)",
)
async def list_checkpoints(
    execution_id: ExecutionId, principal: ReadExecutions, executions: ExecutionsDep
) -> schemas.CheckpointList:
    return schemas.CheckpointList(
        items=await executions.checkpoints(principal.project_id, execution_id)
    )


@router.get(
    "/executions/{execution_id}/checkpoints/{checkpoint_id}",
    response_model=schemas.CheckpointState,
    responses=ERRORS,
    summary="One checkpoint with the whole state at that point, read from the history",
)
async def get_checkpoint(
    execution_id: ExecutionId,
    checkpoint_id: Annotated[str, Path(max_length=200)],
    principal: ReadExecutions,
    executions: ExecutionsDep,
) -> schemas.CheckpointState:
    return await executions.checkpoint(principal.project_id, execution_id, checkpoint_id)


@router.post(
    "/executions/{execution_id}/replay",
    status_code=201,
    response_model=schemas.ExecutionCreated,
    responses=ERRORS,
    summary="A new execution from a checkpoint's state (from the start without one)",
)
async def replay_execution(
    execution_id: ExecutionId,
    principal: Execute,
    executions: ExecutionsDep,
    body: schemas.CheckpointRequest | None = None,
) -> schemas.ExecutionCreated:
    checkpoint_id = body.checkpoint_id if body else None
    new_id, created_at = await executions.replay(principal.project_id, execution_id, checkpoint_id)
    execution = await executions.get(principal.project_id, new_id)
    return schemas.ExecutionCreated(
        id=new_id,
        execution_id=new_id,
        workflow_id=execution.workflow_id,
        status=execution.status,
        created_at=created_at,
    )


@router.post(
    "/executions/{execution_id}/rollback",
    response_model=schemas.ControlResult,
    responses=ERRORS,
    summary="Roll back to a checkpoint: same execution, later state discarded, paused there",
)
async def rollback_execution(
    execution_id: ExecutionId,
    body: schemas.CheckpointRequest,
    principal: Execute,
    executions: ExecutionsDep,
) -> schemas.ControlResult:
    if body.checkpoint_id is None:
        raise InvalidInput("checkpoint_id is required: the checkpoint to roll back to")
    status = await executions.rollback(principal.project_id, execution_id, body.checkpoint_id)
    return _control(execution_id, status)


@router.get(
    "/failures",
    response_model=schemas.FailurePage,
    responses=ERRORS,
    summary="Failed and stuck executions, each with the actions that resolve it",
)
async def list_failures(
    principal: ReadExecutions,
    executions: ExecutionsDep,
    workflow_id: Annotated[str | None, Query(max_length=63)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: Annotated[str | None, Query(max_length=2048)] = None,
) -> schemas.FailurePage:
    return await executions.failures(principal.project_id, workflow_id, limit, after)
