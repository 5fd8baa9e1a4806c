"""The `/api/v1` router. A new endpoint goes into the module of its path; a new resource
gets a module and a line below."""

from __future__ import annotations

from fastapi import APIRouter

from ferryman.api.surfaces.api_v1 import (
    checkpoints,
    events,
    executions,
    failures,
    keys,
    workflows,
)
from ferryman.api.surfaces.api_v1.statuses import status_phrase

PREFIX = "/api/v1"

router = APIRouter(prefix=PREFIX)
for module in (workflows, executions, events, checkpoints, failures, keys):
    router.include_router(module.router)

__all__ = ["PREFIX", "router", "status_phrase"]
