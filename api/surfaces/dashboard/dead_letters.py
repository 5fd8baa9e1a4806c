"""`/ui/dead-letters`: dead-lettered runs grouped by job and error; redrive one group, the
selected runs or all of them (each from its last checkpoint, under its own id)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from ferryman.api.codes import ErrorCode
from ferryman.api.deps import ExecutionsDep
from ferryman.api.errors import ApiError
from ferryman.api.executions import bulk
from ferryman.api.executions.visibility import ListFilter
from ferryman.api.surfaces.dashboard import views
from ferryman.api.surfaces.dashboard.rendering import DashboardRoute, page
from ferryman.api.surfaces.dashboard.runs import bulk_result
from ferryman.api.surfaces.dashboard.session import READ_RUNS, ActingDep, SessionDep
from ferryman.statuses import Status

router = APIRouter(route_class=DashboardRoute)
DEAD = frozenset({Status.DEAD_LETTER})


@router.get("/dead-letters")
async def list_dead_letters(
    request: Request, session: SessionDep, executions: ExecutionsDep
) -> Response:
    session.require(READ_RUNS)
    where = ListFilter(session.project_id, statuses=DEAD)
    found = await executions.reader.after(where, bulk.MAX_MATCHED, None, with_total=False)
    groups = views.dead_letter_groups(found.views)
    return page(request, "dead_letters.html", groups=groups, more=found.next_cursor is not None)


@router.post("/dead-letters/redrive")
async def redrive_dead_letters(
    request: Request,
    session: ActingDep,
    executions: ExecutionsDep,
    run_id: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies a form default)
    everything: Annotated[bool, Form(alias="all")] = False,
) -> Response:
    """The runs named (a group's), or every dead letter of the project."""
    if everything:
        where = ListFilter(session.project_id, statuses=DEAD)
        found = await executions.reader.after(where, bulk.MAX_MATCHED, None, with_total=False)
        run_id = [view.id for view in found.views]
    elif not run_id:
        raise ApiError("select at least one run first", ErrorCode.VALIDATION_ERROR)
    outcomes = await bulk.redrive(executions.restorer, session.project_id, run_id)
    done = [o for o in outcomes if o.error is None]
    refused = [o for o in outcomes if o.error is not None]
    summary = f"Redrove {len(done)} of {len(outcomes)} dead-lettered runs."
    return bulk_result(request, session, {"summary": summary, "refused": refused, "reload": True})
