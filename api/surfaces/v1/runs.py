"""`/v1/runs` and `/v1/runs/{id}`: list, read, cancel, replay, restart, pause, resume, state,
lineage, children, dependency status, the idempotency key, debug mode and its bundle."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ferryman.api.auth import Execute, ReadExecutions
from ferryman.api.deps import ExecutionsDep, IdempotencyDep
from ferryman.api.executions import Executions, dependencies
from ferryman.api.executions.restore import check_replayable
from ferryman.api.executions.visibility import ListFilter
from ferryman.api.surfaces.common import ERRORS, cursor_named
from ferryman.api.surfaces.v1 import job_schemas, schemas, serializer
from ferryman.api.surfaces.v1.params import Cursor, Limit, RunId, RunQueryDep, next_page
from ferryman.api.surfaces.v1.streams import all_events

router = APIRouter(tags=["runs"])


@router.get(
    "/runs",
    response_model=list[schemas.Run],
    responses=ERRORS,
    summary="List runs (the next page's cursor is in the X-Next-Cursor header)",
    description=(
        "Open runs first, newest start first, then closed ones, newest close first "
        "(Temporal's list order). `payload` narrows by the payload index, then confirms each "
        "candidate against its real payload."
    ),
)
async def list_runs(
    response: Response,
    principal: ReadExecutions,
    executions: ExecutionsDep,
    query: RunQueryDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> list[schemas.Run]:
    return await runs_page(response, executions, query.where(principal), limit, cursor)


async def runs_page(
    response: Response, executions: Executions, where: ListFilter, limit: int, cursor: str | None
) -> list[schemas.Run]:
    """One page of the runs `where` finds, the next page's cursor in its header."""
    with cursor_named("cursor"):
        page = await executions.reader.after(where, limit, cursor, with_total=False)
    next_page(response, page.next_cursor)
    return [serializer.run(view) for view in page.views]


@router.get("/runs/{run_id}", response_model=schemas.Run, responses=ERRORS, summary="Read a run")
async def get_run(
    run_id: RunId, principal: ReadExecutions, executions: ExecutionsDep
) -> schemas.Run:
    return serializer.run(await executions.reader.detail(principal.project_id, run_id))


async def _run(executions: ExecutionsDep, project_id: str, run_id: str) -> schemas.Run:
    return serializer.run(await executions.reader.get(project_id, run_id))


@router.delete(
    "/runs/{run_id}",
    response_model=schemas.Run,
    responses=ERRORS,
    summary="Cancel a run: steps in flight are cancelled",
)
async def cancel_run(run_id: RunId, principal: Execute, executions: ExecutionsDep) -> schemas.Run:
    return serializer.run(await executions.control.stop(principal.project_id, run_id, force=False))


@router.post(
    "/runs/{run_id}/replay",
    status_code=201,
    response_model=schemas.Run,
    responses=ERRORS,
    summary="Replay a finished run from the start as a new run (continuation_of, "
    "lineage_depth + 1)",
    description="409 `run_not_finished` for a run still open; 409 `workflow_disabled` while "
    "its job is disabled.",
)
async def replay_run(run_id: RunId, principal: Execute, executions: ExecutionsDep) -> schemas.Run:
    await check_replayable(executions.restorer, principal.project_id, run_id)
    launched = await executions.restorer.replay(
        principal.project_id, run_id, None, created_by=principal.key_id
    )
    return await _run(executions, principal.project_id, launched.execution_id)


@router.post(
    "/runs/{run_id}/restart",
    status_code=201,
    response_model=schemas.Run,
    responses=ERRORS,
    summary="A new run of the same job from the start, with optional overrides",
)
async def restart_run(
    run_id: RunId,
    principal: Execute,
    executions: ExecutionsDep,
    body: schemas.RestartRequest | None = None,
) -> schemas.Run:
    body = body or schemas.RestartRequest()
    launched = await executions.restorer.restart(
        principal.project_id,
        run_id,
        preset=body.preset,
        payload=body.payload,
        version=body.version,
        created_by=principal.key_id,
    )
    return await _run(executions, principal.project_id, launched.execution_id)


@router.post(
    "/runs/{run_id}/pause",
    response_model=schemas.Run,
    responses=ERRORS,
    summary="Pause between steps and attempts",
)
async def pause_run(run_id: RunId, principal: Execute, executions: ExecutionsDep) -> schemas.Run:
    return serializer.run(await executions.control.pause(principal.project_id, run_id))


@router.post(
    "/runs/{run_id}/resume",
    response_model=schemas.Run,
    responses=ERRORS,
    summary="Resume a paused run",
)
async def resume_run(run_id: RunId, principal: Execute, executions: ExecutionsDep) -> schemas.Run:
    return serializer.run(await executions.control.resume(principal.project_id, run_id))


@router.get(
    "/runs/{run_id}/state",
    response_model=schemas.RunState,
    responses=ERRORS,
    summary="The live step states (from the worker, or folded from history when none runs)",
)
async def run_state(
    run_id: RunId, principal: ReadExecutions, executions: ExecutionsDep
) -> schemas.RunState:
    return serializer.state(await executions.reader.live_state(principal.project_id, run_id))


@router.get(
    "/runs/{run_id}/lineage",
    response_model=list[schemas.Run],
    responses=ERRORS,
    summary="The whole replay chain: ancestors, the run, and the runs that continue it",
)
async def run_lineage(
    run_id: RunId, principal: ReadExecutions, executions: ExecutionsDep
) -> list[schemas.Run]:
    chain = await executions.reader.lineage(principal.project_id, run_id)
    return [serializer.run(view) for view in chain]


@router.get(
    "/runs/{run_id}/children",
    response_model=list[schemas.Run],
    responses=ERRORS,
    summary="Runs this run spawned",
)
async def run_children(
    run_id: RunId, principal: ReadExecutions, executions: ExecutionsDep
) -> list[schemas.Run]:
    children = await executions.reader.children(principal.project_id, run_id)
    return [serializer.run(view) for view in children]


@router.get(
    "/runs/{run_id}/dependency-status",
    response_model=job_schemas.DependencyStatus,
    responses=ERRORS,
    summary="Whether the run's job dependencies are met",
)
async def run_dependency_status(
    run_id: RunId, principal: ReadExecutions, executions: ExecutionsDep
) -> job_schemas.DependencyStatus:
    return serializer.dependency_status(
        await dependencies.of_run(executions.reader, principal.project_id, run_id)
    )


@router.post(
    "/runs/{run_id}/reschedule",
    response_model=schemas.Run,
    responses=ERRORS,
    summary="Move a delayed run's start time (409 unless the run is delayed)",
)
async def reschedule_run(
    run_id: RunId, body: schemas.RescheduleRequest, principal: Execute, executions: ExecutionsDep
) -> schemas.Run:
    return serializer.run(
        await executions.control.reschedule(principal.project_id, run_id, body.scheduled_at)
    )


@router.delete(
    "/runs/{run_id}/idempotency-key",
    response_model=schemas.IdempotencyReset,
    responses=ERRORS,
    summary="Free the run's idempotency key: it may start a new run",
)
async def reset_idempotency_key(
    run_id: RunId, principal: Execute, executions: ExecutionsDep, idempotency: IdempotencyDep
) -> schemas.IdempotencyReset:
    await executions.reader.describe(principal.project_id, run_id)
    freed = await idempotency.release(principal.project_id, run_id)
    return schemas.IdempotencyReset(status="reset" if freed else "none", run_id=run_id)


@router.post(
    "/runs/{run_id}/debug",
    response_model=schemas.DebugState,
    responses=ERRORS,
    summary="Debug mode on or off: events carry each later step's input and output",
)
async def set_debug(
    run_id: RunId, body: schemas.DebugRequest, principal: Execute, executions: ExecutionsDep
) -> schemas.DebugState:
    changed = await executions.control.debug(principal.project_id, run_id, body.enabled)
    return schemas.DebugState(run_id=run_id, debug_mode=changed.debug_mode)


@router.get(
    "/runs/{run_id}/debug-bundle",
    response_model=schemas.DebugBundle,
    responses=ERRORS,
    summary="Everything about a run in one document, its Temporal history included",
    description="`ferryman debug replay BUNDLE.json` replays the history against the "
    "installed workflow code.",
)
async def debug_bundle(
    run_id: RunId, principal: ReadExecutions, executions: ExecutionsDep
) -> schemas.DebugBundle:
    reader = executions.reader
    view = await reader.detail(principal.project_id, run_id)
    described = await reader.describe(principal.project_id, run_id)
    folded = await reader.fold_described(described)
    history = await described.handle.fetch_history()
    return schemas.DebugBundle(
        run=serializer.run(view),
        events=await all_events(executions, principal.project_id, run_id),
        checkpoints=serializer.checkpoints(run_id, folded),
        usage=serializer.usage(run_id, folded.ai),
        tool_calls=serializer.tool_calls(run_id, folded.ai),
        outputs=serializer.outputs(run_id, folded.ai),
        history=serializer.history_json(history.to_json()),
    )
