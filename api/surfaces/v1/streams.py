"""`/v1/runs/{id}/events`, `/checkpoints`, `/stream` (SSE) and `/stream/chunks` (SSE)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from sse_starlette import EventSourceResponse

from ferryman.activities.llm_contract import Chunk
from ferryman.api.auth import ReadExecutions
from ferryman.api.deps import ExecutionsDep
from ferryman.api.executions import Executions
from ferryman.api.executions.events import Event
from ferryman.api.surfaces.common import ERRORS, SSE, server_sent
from ferryman.api.surfaces.v1 import schemas, serializer
from ferryman.api.surfaces.v1.params import RunId

router = APIRouter(tags=["events"])
BUNDLE_EVENTS = 10_000  # events a debug bundle holds at most


async def all_events(
    executions: Executions, project_id: str, run_id: str
) -> list[schemas.RunEvent]:
    page = await executions.events.page(project_id, run_id, 0, BUNDLE_EVENTS)
    return [serializer.event(run_id, event) for event in page.items]


@router.get(
    "/runs/{run_id}/events",
    response_model=list[schemas.RunEvent],
    responses=ERRORS,
    summary="A run's events, translated from its Temporal history",
)
async def list_run_events(
    run_id: RunId,
    principal: ReadExecutions,
    executions: ExecutionsDep,
    after: Annotated[int, Query(ge=0, description="Only events with a greater id")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[schemas.RunEvent]:
    page = await executions.events.page(principal.project_id, run_id, after, limit)
    return [serializer.event(run_id, event) for event in page.items]


@router.get(
    "/runs/{run_id}/checkpoints",
    response_model=list[schemas.RunCheckpoint],
    responses=ERRORS,
    summary="A run's checkpoints in force, each with the whole state after it",
)
async def list_run_checkpoints(
    run_id: RunId, principal: ReadExecutions, executions: ExecutionsDep
) -> list[schemas.RunCheckpoint]:
    reader = executions.reader
    described = await reader.describe(principal.project_id, run_id)
    return serializer.checkpoints(run_id, await reader.fold_described(described))


@router.get(
    "/runs/{run_id}/stream",
    responses=SSE,
    summary="Server-Sent Events: each new event of the run as it happens",
    description="Each SSE event is one of the run's events, as `GET /v1/runs/{id}/events` "
    "lists them: its `event` field is the event's type (`step.started`, `step.completed`, "
    "`execution.completed`, ...), its `data` the event object, its `id` the event's id. The "
    "events so far come first (after `after`), then each new one as it happens; the "
    "stream ends when the run closes. Reconnect with `Last-Event-ID` to resume after "
    "that event. Live LLM tokens are on `/stream/chunks`.",
)
async def stream_run(
    run_id: RunId,
    principal: ReadExecutions,
    executions: ExecutionsDep,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0)] = None,
    after: Annotated[int, Query(ge=0)] = 0,
) -> EventSourceResponse:
    start = max(after, last_event_id or 0)
    events = await executions.events.stream(principal.project_id, run_id, start)

    def sse_event(event: Event) -> dict[str, str]:
        wire = serializer.event(run_id, event)
        return {"id": wire.id, "event": wire.type, "data": wire.model_dump_json()}

    return server_sent(events, sse_event)


@router.get(
    "/runs/{run_id}/stream/chunks",
    responses=SSE,
    summary="Server-Sent Events of the tokens `llm` steps produce, as they are produced",
    description="Each event is `chunk`: `{step_id, call, attempt, text}` (a batch of deltas; "
    "`attempt` > 1 restarts that call's text). Ends when the run closes; reconnect with "
    "`Last-Event-ID` to resume after that chunk.",
)
async def stream_chunks(
    run_id: RunId,
    principal: ReadExecutions,
    executions: ExecutionsDep,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0)] = None,
) -> EventSourceResponse:
    chunks = await executions.events.chunks(principal.project_id, run_id, last_event_id)
    return server_sent(chunks, _sse_chunk)


def _sse_chunk(item: tuple[int, Chunk]) -> dict[str, str]:
    offset, chunk = item
    return {"id": str(offset), "event": "chunk", "data": chunk.model_dump_json()}
