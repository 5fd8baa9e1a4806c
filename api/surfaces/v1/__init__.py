"""The run-management surface, `/v1` (seed 001): jobs, runs, bulk calls, streams, AI records,
cron schedules.

One module per resource (its routes), `schemas` and `job_schemas` (wire bodies; their
OpenAPI examples in `examples`), `serializer` (the one mapping from domain objects to those
bodies), `statuses` (its names for statuses: the canonical ones) and `params` (the list
filters). `bulk` comes before `runs` so that `/runs/dlq` and `/runs/bulk-*` are not taken
for run ids.
"""

from __future__ import annotations

from fastapi import APIRouter

from ferryman.api.surfaces.v1 import ai, bulk, jobs, runs, schedules, streams
from ferryman.api.surfaces.v1.statuses import status_phrase

PREFIX = "/v1"

router = APIRouter(prefix=PREFIX)
for module in (jobs, bulk, runs, streams, ai, schedules):
    router.include_router(module.router)

__all__ = ["PREFIX", "router", "status_phrase"]
