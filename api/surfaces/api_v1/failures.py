"""`/api/v1/failures`: failed and stuck executions with the actions that resolve them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ferryman.api.auth import ReadExecutions
from ferryman.api.deps import ExecutionsDep
from ferryman.api.surfaces.api_v1 import schemas, serializer
from ferryman.api.surfaces.common import ERRORS, cursor_named

router = APIRouter(tags=["failures"])


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
    with cursor_named("after"):
        found = await executions.failures(principal.project_id, workflow_id, limit, after)
    return serializer.failures(found)
