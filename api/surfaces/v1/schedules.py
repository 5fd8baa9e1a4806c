"""`/v1/schedules`: cron schedules of jobs, on Temporal Schedules (`executions.schedules`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from ferryman.api.auth import Execute, ReadExecutions
from ferryman.api.deps import ExecutionsDep
from ferryman.api.executions.schedules import ScheduleRequest
from ferryman.api.surfaces.common import ERRORS, cursor_named
from ferryman.api.surfaces.v1 import job_schemas, serializer
from ferryman.api.surfaces.v1.params import Cursor, next_page

router = APIRouter(tags=["schedules"])
ScheduleId = Annotated[str, Path(max_length=64, description="The schedule id (`sched_...`)")]
Limit = Annotated[int, Query(ge=1, le=100, description="Schedules per page")]


@router.post(
    "/schedules",
    status_code=201,
    response_model=job_schemas.ScheduleOut,
    responses=ERRORS,
    summary="Create a cron schedule: each firing starts a run of the job (triggered_by: cron)",
    description=(
        "The job and payload are checked as a trigger checks them, and the job's current "
        "version is pinned: later versions do not change the schedule's runs."
    ),
)
async def create_schedule(
    body: job_schemas.ScheduleCreate, principal: Execute, executions: ExecutionsDep
) -> job_schemas.ScheduleOut:
    request = ScheduleRequest(
        project_id=principal.project_id,
        job_id=body.job_id,
        cron=body.cron.strip(),
        payload=body.payload,
        timezone=body.timezone,
        created_by=principal.key_id,
    )
    return serializer.schedule(await executions.schedules.create(request))


@router.get(
    "/schedules",
    response_model=list[job_schemas.ScheduleOut],
    responses=ERRORS,
    summary="List the project's schedules (the next page's cursor is in X-Next-Cursor)",
)
async def list_schedules(
    response: Response,
    principal: ReadExecutions,
    executions: ExecutionsDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> list[job_schemas.ScheduleOut]:
    with cursor_named("cursor"):
        page = await executions.schedules.page(principal.project_id, limit, cursor)
    next_page(response, page.next_cursor)
    return [serializer.schedule(view) for view in page.views]


@router.get(
    "/schedules/{schedule_id}",
    response_model=job_schemas.ScheduleOut,
    responses=ERRORS,
    summary="Read a schedule",
)
async def get_schedule(
    schedule_id: ScheduleId, principal: ReadExecutions, executions: ExecutionsDep
) -> job_schemas.ScheduleOut:
    return serializer.schedule(await executions.schedules.get(principal.project_id, schedule_id))


@router.delete(
    "/schedules/{schedule_id}",
    response_model=job_schemas.ScheduleDeleted,
    responses=ERRORS,
    summary="Delete a schedule (the runs it started are not touched)",
)
async def delete_schedule(
    schedule_id: ScheduleId, principal: Execute, executions: ExecutionsDep
) -> job_schemas.ScheduleDeleted:
    await executions.schedules.delete(principal.project_id, schedule_id)
    return job_schemas.ScheduleDeleted(id=schedule_id)


@router.post(
    "/schedules/{schedule_id}/pause",
    response_model=job_schemas.ScheduleOut,
    responses=ERRORS,
    summary="Pause a schedule: no run starts until it is unpaused (idempotent)",
)
async def pause_schedule(
    schedule_id: ScheduleId, principal: Execute, executions: ExecutionsDep
) -> job_schemas.ScheduleOut:
    view = await executions.schedules.pause(principal.project_id, schedule_id)
    return serializer.schedule(view)


@router.post(
    "/schedules/{schedule_id}/unpause",
    response_model=job_schemas.ScheduleOut,
    responses=ERRORS,
    summary="Unpause a schedule: it fires again from its next time (idempotent)",
)
async def unpause_schedule(
    schedule_id: ScheduleId, principal: Execute, executions: ExecutionsDep
) -> job_schemas.ScheduleOut:
    view = await executions.schedules.unpause(principal.project_id, schedule_id)
    return serializer.schedule(view)
