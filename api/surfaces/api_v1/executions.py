"""`/api/v1/executions` and `run-async`: create, list, read, stop, pause, resume, signal."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import JSONResponse

from ferryman.api.auth import Execute, ReadExecutions
from ferryman.api.deps import ExecutionsDep, IdempotencyDep
from ferryman.api.executions.launch import LaunchRequest
from ferryman.api.executions.visibility import ListFilter
from ferryman.api.surfaces.api_v1 import schemas, serializer
from ferryman.api.surfaces.api_v1.params import ExecutionId, IdempotencyKey
from ferryman.api.surfaces.api_v1.statuses import ExecutionStatus, canonical
from ferryman.api.surfaces.common import ERRORS, cursor_named

router = APIRouter(tags=["executions"])


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
    executions: ExecutionsDep,
    idempotency: IdempotencyDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    request = LaunchRequest(
        project_id=principal.project_id,
        workflow_id=body.workflow_id,
        input=body.input_data,
        metadata=body.metadata,
        version=body.version,
    )

    async def produce(execution_id: str) -> tuple[int, dict[str, Any]]:
        launched = await executions.launcher.launch(request, execution_id)
        return 201, serializer.created(launched).model_dump(mode="json")

    key = idempotency_key or body.idempotency_key
    request_body = body.model_dump(mode="json", exclude={"idempotency_key"})
    return await idempotency.answer(principal.project_id, "executions", key, request_body, produce)


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
    executions: ExecutionsDep,
    idempotency: IdempotencyDep,
    input_data: Annotated[
        dict[str, Any] | None, Body(examples=[{"email": "ada@example.com"}])
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    # The webhook-style entry point (the body is the event itself): `triggered_by: event`.
    request = LaunchRequest(
        project_id=principal.project_id,
        workflow_id=workflow_id,
        input=input_data or {},
        triggered_by="event",
    )

    async def produce(execution_id: str) -> tuple[int, dict[str, Any]]:
        launched = await executions.launcher.launch(request, execution_id)
        return 202, serializer.accepted(launched).model_dump(mode="json")

    body = {"workflow_id": workflow_id, "input": input_data or {}}
    return await idempotency.answer(
        principal.project_id, "run-async", idempotency_key, body, produce
    )


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
    where = ListFilter(
        principal.project_id,
        workflow_id=workflow_id,
        statuses=canonical(status) if status is not None else None,
    )
    if limit is not None or after is not None:
        with cursor_named("after"):
            return serializer.page(await executions.reader.after(where, limit or 20, after))
    found = await executions.reader.page(where, page, page_size)
    return serializer.page(found, page=page, page_size=page_size)


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
    view = await executions.reader.get(principal.project_id, execution_id, include_step_results)
    return serializer.execution(view)


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
        status = (await executions.control.stop(principal.project_id, execution_id, force)).status
        return 200, serializer.control(execution_id, status).model_dump(mode="json")

    scope = f"stop:{execution_id}"
    return await idempotency.answer(
        principal.project_id, scope, idempotency_key, {"force": force}, produce
    )


@router.post(
    "/executions/{execution_id}/pause",
    response_model=schemas.ControlResult,
    responses=ERRORS,
    summary="Pause between steps and attempts (running steps finish)",
)
async def pause_execution(
    execution_id: ExecutionId, principal: Execute, executions: ExecutionsDep
) -> schemas.ControlResult:
    status = (await executions.control.pause(principal.project_id, execution_id)).status
    return serializer.control(execution_id, status)


@router.post(
    "/executions/{execution_id}/resume",
    response_model=schemas.ControlResult,
    responses=ERRORS,
    summary="Resume a paused execution",
)
async def resume_execution(
    execution_id: ExecutionId, principal: Execute, executions: ExecutionsDep
) -> schemas.ControlResult:
    status = (await executions.control.resume(principal.project_id, execution_id)).status
    return serializer.control(execution_id, status)


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
    changed = await executions.control.deliver(
        principal.project_id, execution_id, body.name, body.payload
    )
    return serializer.control(execution_id, changed.status)
