"""`/v1/runs/{id}/usage`, `/tool-calls` and `/outputs`: what a run's `llm` steps did."""

from __future__ import annotations

from fastapi import APIRouter

from ferryman.api.auth import ReadExecutions
from ferryman.api.deps import ExecutionsDep
from ferryman.api.executions.ai import AiRecords
from ferryman.api.surfaces.common import ERRORS
from ferryman.api.surfaces.v1 import schemas, serializer
from ferryman.api.surfaces.v1.params import RunId

router = APIRouter(tags=["ai"])


@router.get(
    "/runs/{run_id}/usage",
    response_model=list[schemas.Usage],
    responses=ERRORS,
    summary="Model usage and cost, one record per model call",
)
async def run_usage(
    run_id: RunId, principal: ReadExecutions, executions: ExecutionsDep
) -> list[schemas.Usage]:
    records = await _records(executions, principal.project_id, run_id)
    return serializer.usage(run_id, records)


@router.get(
    "/runs/{run_id}/tool-calls",
    response_model=list[schemas.ToolCall],
    responses=ERRORS,
    summary="Tool calls the run's models made",
)
async def run_tool_calls(
    run_id: RunId, principal: ReadExecutions, executions: ExecutionsDep
) -> list[schemas.ToolCall]:
    records = await _records(executions, principal.project_id, run_id)
    return serializer.tool_calls(run_id, records)


@router.get(
    "/runs/{run_id}/outputs",
    response_model=list[schemas.StructuredOutput],
    responses=ERRORS,
    summary="Structured outputs, validated against their JSON Schema",
)
async def run_outputs(
    run_id: RunId, principal: ReadExecutions, executions: ExecutionsDep
) -> list[schemas.StructuredOutput]:
    records = await _records(executions, principal.project_id, run_id)
    return serializer.outputs(run_id, records)


async def _records(executions: ExecutionsDep, project_id: str, run_id: str) -> AiRecords:
    """What the run's `llm` steps did, folded from its history (empty for a run without)."""
    reader = executions.reader
    folded = await reader.fold_described(await reader.describe(project_id, run_id))
    return folded.ai
