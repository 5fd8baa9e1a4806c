"""`/ui/`: the project at a glance: runs per status over the last hour and day, the busiest
and the most failing jobs of the day, and how many runs queue for each concurrency key."""

from __future__ import annotations

import asyncio
from collections import Counter
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

    async def count(since: timedelta, **narrow: object) -> int:
        return await reader.count(ListFilter(project_id, created_after=now - since, **narrow))  # type: ignore[arg-type]

    windows = list(WINDOWS.values())
    by_status = await asyncio.gather(
        *(count(w, statuses=frozenset({s})) for w in windows for s in Status)
    )
    per_window = {
        name: dict(zip(Status, by_status[i * len(Status) : (i + 1) * len(Status)], strict=True))
        for i, name in enumerate(WINDOWS)
    }
    jobs, _ = await definitions.page(project_id, 1, 1000)
    day = WINDOWS["last day"]
    totals = await asyncio.gather(*(count(day, workflow_id=j.slug) for j in jobs))
    failed = await asyncio.gather(
        *(count(day, workflow_id=j.slug, statuses=FAILURE_STATUSES) for j in jobs)
    )
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
