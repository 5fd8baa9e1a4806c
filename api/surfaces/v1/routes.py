"""The `/v1` router: one line per resource module. `bulk` comes before `runs` so that
`/runs/dlq` and `/runs/bulk-*` are not taken for run ids."""

from __future__ import annotations

from fastapi import APIRouter

from ferryman.api.surfaces.v1 import ai, bulk, jobs, runs, schedules, streams
from ferryman.api.surfaces.v1.statuses import status_phrase

PREFIX = "/v1"

router = APIRouter(prefix=PREFIX)
for module in (jobs, bulk, runs, streams, ai, schedules):
    router.include_router(module.router)

__all__ = ["PREFIX", "router", "status_phrase"]
