"""`/api/v1/executions/{id}/events` and `/stream`: what happened, paged or live."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from sse_starlette import EventSourceResponse

from ferryman.api.auth import ReadExecutions
from ferryman.api.deps import ExecutionsDep
from ferryman.api.executions.events import Event
from ferryman.api.surfaces.api_v1 import schemas, serializer
from ferryman.api.surfaces.api_v1.params import ExecutionId
from ferryman.api.surfaces.common import ERRORS, SSE, server_sent

router = APIRouter(tags=["events"])


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
    found = await executions.events.page(principal.project_id, execution_id, after, limit)
    return serializer.events(found)


@router.get(
    "/executions/{execution_id}/stream",
    responses=SSE,
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
    events = await executions.events.stream(principal.project_id, execution_id, start)
    return server_sent(events, _sse_event)


def _sse_event(event: Event) -> dict[str, str]:
    wire = serializer.event(event)
    return {"id": str(wire.id), "event": wire.type, "data": wire.model_dump_json()}
