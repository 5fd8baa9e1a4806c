"""`/v1/runs/dlq`, `dlq-replay` and the bulk calls: cancel, cancel by filter, replay, redrive."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ferryman.api.auth import Execute, ReadExecutions
from ferryman.api.deps import ExecutionsDep
from ferryman.api.executions import bulk
from ferryman.api.surfaces.common import ERRORS
from ferryman.api.surfaces.v1 import schemas, serializer
from ferryman.api.surfaces.v1.params import Cursor, Limit, RunId, RunQueryDep
from ferryman.api.surfaces.v1.runs import runs_page
from ferryman.statuses import TERMINAL_STATUSES, Status

router = APIRouter(tags=["bulk"])
DEAD = frozenset({Status.DEAD_LETTER})


@router.get(
    "/runs/dlq",
    response_model=list[schemas.Run],
    responses=ERRORS,
    summary="Dead-lettered runs (a retryable error outlived the last attempt)",
)
async def list_dead_letters(
    response: Response,
    principal: ReadExecutions,
    executions: ExecutionsDep,
    query: RunQueryDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> list[schemas.Run]:
    where = query.where(principal, statuses=DEAD)
    return await runs_page(response, executions, where, limit, cursor)


@router.post(
    "/runs/{run_id}/dlq-replay",
    response_model=schemas.Run,
    responses=ERRORS,
    summary="Redrive a dead-lettered run from its last checkpoint, under the same id",
    description="Completed steps do not run again; the run leaves the dead-letter queue.",
)
async def redrive_run(run_id: RunId, principal: Execute, executions: ExecutionsDep) -> schemas.Run:
    await executions.restorer.redrive(principal.project_id, run_id)
    return serializer.run(await executions.reader.get(principal.project_id, run_id))


@router.post(
    "/runs/bulk-dlq-replay",
    response_model=schemas.DlqReplayed,
    responses=ERRORS,
    summary="Redrive every dead-lettered run, or those the list's filters name",
)
async def redrive_dead_letters(
    principal: Execute, executions: ExecutionsDep, query: RunQueryDep
) -> schemas.DlqReplayed:
    where = query.where(principal, statuses=DEAD)
    page = await executions.reader.after(where, bulk.MAX_MATCHED, None, with_total=False)
    ids = [view.id for view in page.views]
    outcomes = await bulk.redrive(executions.restorer, principal.project_id, ids)
    done = [o.run_id for o in outcomes if o.error is None]
    runs = [serializer.run(await executions.reader.get(principal.project_id, r)) for r in done]
    return schemas.DlqReplayed(replayed=runs, count=len(runs))


@router.post(
    "/runs/bulk-cancel",
    response_model=schemas.BulkResult,
    responses=ERRORS,
    summary=f"Cancel runs by id (at most {bulk.MAX_RUNS})",
)
async def bulk_cancel(
    body: schemas.RunIds, principal: Execute, executions: ExecutionsDep
) -> schemas.BulkResult:
    outcomes = await bulk.cancel(executions.control, principal.project_id, body.run_ids)
    return serializer.bulk(outcomes)


@router.post(
    "/runs/bulk-cancel-all",
    response_model=schemas.BulkResult,
    responses=ERRORS,
    summary=f"Cancel the open runs the list's filters name (at most {bulk.MAX_MATCHED})",
)
async def bulk_cancel_all(
    principal: Execute, executions: ExecutionsDep, query: RunQueryDep
) -> schemas.BulkResult:
    where = query.where(principal)
    page = await executions.reader.after(where, bulk.MAX_MATCHED, None, with_total=False)
    open_runs = [view.id for view in page.views if view.status not in TERMINAL_STATUSES]
    outcomes = await bulk.cancel(
        executions.control, principal.project_id, open_runs, most=bulk.MAX_MATCHED
    )
    return serializer.bulk(outcomes)


@router.post(
    "/runs/bulk-replay",
    status_code=201,
    response_model=list[schemas.Run],
    responses=ERRORS,
    summary=f"Replay runs by id, each as a new run from the start (at most {bulk.MAX_RUNS})",
    description="The new runs, in the order of the ids (each id once). All or nothing: an "
    "unknown or another project's id, a run still open or a disabled job's run refuses the "
    "whole call (422 `runs_not_replayable`, `details` listing `{id, error, code}` for each).",
)
async def bulk_replay(
    body: schemas.RunIds, principal: Execute, executions: ExecutionsDep
) -> list[schemas.Run]:
    project_id = principal.project_id
    launched = await bulk.replay(executions.restorer, project_id, body.run_ids, principal.key_id)
    return [
        serializer.run(await executions.reader.get(project_id, r.execution_id)) for r in launched
    ]
