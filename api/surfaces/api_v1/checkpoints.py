"""`/api/v1/executions/{id}/checkpoints`, `/replay` and `/rollback`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from ferryman.api.auth import Execute, ReadExecutions
from ferryman.api.codes import ErrorCode
from ferryman.api.deps import ExecutionsDep
from ferryman.api.errors import ApiError
from ferryman.api.surfaces.api_v1 import schemas, serializer
from ferryman.api.surfaces.api_v1.params import ExecutionId
from ferryman.api.surfaces.common import ERRORS

router = APIRouter(tags=["checkpoints"])


@router.get(
    "/executions/{execution_id}/checkpoints",
    response_model=schemas.CheckpointList,
    responses=ERRORS,
    summary="Checkpoints of an execution (works with no worker running)",
)
async def list_checkpoints(
    execution_id: ExecutionId, principal: ReadExecutions, executions: ExecutionsDep
) -> schemas.CheckpointList:
    described = await executions.reader.describe(principal.project_id, execution_id)
    return schemas.CheckpointList(
        items=[serializer.checkpoint(c) for c in described.view.checkpoints]
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
    found = await executions.restorer.checkpoint(principal.project_id, execution_id, checkpoint_id)
    return serializer.checkpoint_state(found)


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
    launched = await executions.restorer.replay(principal.project_id, execution_id, checkpoint_id)
    return serializer.created(launched)


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
        raise ApiError(
            "checkpoint_id is required: the checkpoint to roll back to",
            ErrorCode.VALIDATION_ERROR,
        )
    status = await executions.restorer.rollback(
        principal.project_id, execution_id, body.checkpoint_id
    )
    return serializer.control(execution_id, status)
