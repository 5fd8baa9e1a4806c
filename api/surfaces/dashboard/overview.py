"""`/ui/`: the project at a glance: runs per status over the last hour and day, the busiest
and the most failing jobs of the day, and how many runs queue for each concurrency key."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, Response

from ferryman.api.deps import DefinitionsDep, ExecutionsDep
from ferryman.api.executions import bulk
from ferryman.api.executions.visibility import ListFilter
from ferryman.api.surfaces.dashboard.rendering import DashboardRoute, page
from ferryman.api.surfaces.dashboard.session import READ_RUNS, SessionDep
from ferryman.statuses import FAILURE_STATUSES, Status

router = APIRouter(route_class=DashboardRoute)
WINDOWS = {"last hour": timedelta(hours=1), "last day": timedelta(days=1)}
TOP_JOBS = 5


@router.get("/")
async def overview(
    request: Request, session: SessionDep, executions: ExecutionsDep, definitions: DefinitionsDep
) -> Response:
    session.require(READ_RUNS)
    reader, project_id = executions.reader, session.project_id
    now = datetime.now(UTC)
    jobs, _ = await definitions.page(project_id, 1, 1000)
    day = ListFilter(project_id, created_after=now - WINDOWS["last day"])
    wheres = [
        ListFilter(project_id, statuses=frozenset({status}), created_after=now - since)
        for since in WINDOWS.values()
        for status in Status
    ]
    wheres += [replace(day, workflow_id=job.slug) for job in jobs]
    wheres += [replace(day, workflow_id=job.slug, statuses=FAILURE_STATUSES) for job in jobs]
    counts = iter(await reader.counts(wheres))
    per_window = {name: {status: next(counts) for status in Status} for name in WINDOWS}
    totals = [next(counts) for _ in jobs]
    failed = [next(counts) for _ in jobs]
    busiest = sorted(zip((j.slug for j in jobs), totals, strict=True), key=lambda p: -p[1])
    failing = sorted(zip((j.slug for j in jobs), failed, strict=True), key=lambda p: -p[1])
    queued = await reader.after(
        ListFilter(project_id, statuses=frozenset({Status.QUEUED})),
        bulk.MAX_MATCHED,
        None,
        with_total=False,
    )
    depth = Counter(view.concurrency_key or "(no key)" for view in queued.views)
    return page(
        request,
        "overview.html",
        per_window=per_window,
        statuses=list(Status),
        busiest=[p for p in busiest[:TOP_JOBS] if p[1]],
        failing=[p for p in failing[:TOP_JOBS] if p[1]],
        depth=depth.most_common(),
        most=max([*totals, 1]),
    )
