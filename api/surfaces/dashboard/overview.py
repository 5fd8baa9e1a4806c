"""`/ui/`: the project at a glance: runs per status over the last hour and day, the busiest
and the most failing jobs of the day, and how many runs queue for each concurrency key.

The page comes at once and each panel loads on its own (`/ui/overview/<panel>`, htmx on
load), so its counts over a large project never hold the page back."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Request, Response

from ferryman.api.deps import DefinitionsDep, ExecutionsDep
from ferryman.api.executions import bulk
from ferryman.api.executions.visibility import ListFilter
from ferryman.api.surfaces.dashboard.rendering import DashboardRoute, page
from ferryman.api.surfaces.dashboard.session import READ_RUNS, SessionDep
from ferryman.statuses import FAILURE_STATUSES, Status

router = APIRouter(route_class=DashboardRoute)
WINDOWS = {"last hour": ("1h", timedelta(hours=1)), "last day": ("24h", timedelta(days=1))}
TOP_JOBS = 5
Panel = Literal["statuses", "jobs", "queues"]


@router.get("/")
async def overview(request: Request, session: SessionDep) -> Response:
    session.require(READ_RUNS)
    return page(request, "overview.html", panels=["statuses", "jobs", "queues"])


@router.get("/overview/{panel}")
async def overview_panel(
    request: Request,
    panel: Panel,
    session: SessionDep,
    executions: ExecutionsDep,
    definitions: DefinitionsDep,
) -> Response:
    session.require(READ_RUNS)
    reader, project_id = executions.reader, session.project_id
    now = datetime.now(UTC)
    if panel == "statuses":
        windows = [
            (
                name,
                since,
                await reader.count_by_status(ListFilter(project_id, created_after=now - span)),
            )
            for name, (since, span) in WINDOWS.items()
        ]
        return page(request, "_overview_statuses.html", windows=windows, statuses=list(Status))
    if panel == "jobs":
        day = now - WINDOWS["last day"][1]
        jobs, _ = await definitions.page(project_id, 1, 1000)
        totals = await reader.counts(
            [ListFilter(project_id, job.slug, created_after=day) for job in jobs]
        )
        # Failures are few: one page of them, grouped by job.
        failures = await reader.after(
            ListFilter(project_id, statuses=FAILURE_STATUSES, created_after=day),
            bulk.MAX_MATCHED,
            None,
            with_total=False,
        )
        busiest = sorted(zip((j.slug for j in jobs), totals, strict=True), key=lambda p: -p[1])
        failing = Counter(view.workflow_id for view in failures.views)
        return page(
            request,
            "_overview_jobs.html",
            busiest=[p for p in busiest[:TOP_JOBS] if p[1]],
            most=max([*totals, 1]),
            failing=failing.most_common(TOP_JOBS),
            more_failures=failures.next_cursor is not None,
        )
    queued = await reader.after(
        ListFilter(project_id, statuses=frozenset({Status.QUEUED})),
        bulk.MAX_MATCHED,
        None,
        with_total=False,
    )
    depth = Counter(view.concurrency_key or "(no key)" for view in queued.views)
    return page(
        request,
        "_overview_queues.html",
        depth=depth.most_common(),
        more=queued.next_cursor is not None,
    )
