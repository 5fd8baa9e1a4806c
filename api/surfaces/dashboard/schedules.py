"""`/ui/schedules`: the project's cron schedules with their next firings; pause, unpause."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from ferryman.api.deps import ExecutionsDep
from ferryman.api.surfaces.dashboard.rendering import PREFIX, DashboardRoute, go, page
from ferryman.api.surfaces.dashboard.session import READ_RUNS, ActingDep, SessionDep

router = APIRouter(route_class=DashboardRoute)
ScheduleId = Annotated[str, Path(max_length=64)]
PAGE_SIZE = 50


@router.get("/schedules")
async def list_schedules(
    request: Request,
    session: SessionDep,
    executions: ExecutionsDep,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> Response:
    session.require(READ_RUNS)
    found = await executions.schedules.page(session.project_id, PAGE_SIZE, cursor)
    return page(
        request,
        "schedules.html",
        schedules=found.views,
        next_cursor=found.next_cursor,
        cursor=cursor,
    )


@router.post("/schedules/{schedule_id}/pause")
async def pause(
    request: Request, schedule_id: ScheduleId, session: ActingDep, executions: ExecutionsDep
) -> Response:
    await executions.schedules.pause(session.project_id, schedule_id)
    return go(request, f"{PREFIX}/schedules?done=schedule-paused")


@router.post("/schedules/{schedule_id}/unpause")
async def unpause(
    request: Request, schedule_id: ScheduleId, session: ActingDep, executions: ExecutionsDep
) -> Response:
    await executions.schedules.unpause(session.project_id, schedule_id)
    return go(request, f"{PREFIX}/schedules?done=schedule-unpaused")
