"""The `/ui` router: one line per page module. `runs` comes before `run`, so that
`/runs/stream` and `/runs/bulk` are not taken for run ids."""

from __future__ import annotations

from fastapi import APIRouter

from ferryman.api.surfaces.dashboard import (
    dead_letters,
    jobs,
    overview,
    run,
    runs,
    schedules,
    session,
)
from ferryman.api.surfaces.dashboard.rendering import PREFIX, STATIC_PATH, static_files
from ferryman.api.surfaces.v1.statuses import status_phrase

router = APIRouter(prefix=PREFIX, include_in_schema=False)
for module in (session, overview, runs, run, jobs, dead_letters, schedules):
    router.include_router(module.router)

__all__ = ["PREFIX", "STATIC_PATH", "router", "static_files", "status_phrase"]
