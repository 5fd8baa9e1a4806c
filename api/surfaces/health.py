"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from ferryman.api.deps import ResourcesDep
from ferryman.api.store import db

router = APIRouter(tags=["health"])
READY_TIMEOUT_SECS = 3.0


class Health(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "ok", "checks": {"temporal": "ok", "database": "ok"}},
                {
                    "status": "unavailable",
                    "checks": {
                        "temporal": "ok",
                        "database": "unavailable: ConnectionRefusedError: [Errno 111] "
                        "Connect call failed ('127.0.0.1', 5432)",
                    },
                },
            ]
        }
    )

    status: str = Field(examples=["ok"])
    checks: dict[str, str] = Field(default_factory=dict)


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    responses={503: {"model": Health}},
    summary="Temporal and the metadata database are reachable",
)
async def readyz(resources: ResourcesDep) -> JSONResponse:
    checks = {
        "temporal": await _check(
            resources.client.workflow_service.get_system_info(GetSystemInfoRequest())
        ),
        "database": await _check(db.check(resources.engine)),
    }
    ready = all(value == "ok" for value in checks.values())
    body = Health(status="ok" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


async def _check(call: object) -> str:
    try:
        await asyncio.wait_for(call, READY_TIMEOUT_SECS)  # type: ignore[arg-type]
    except Exception as err:  # any failure means "not ready"; say which
        return f"unavailable: {type(err).__name__}: {err}"[:300]
    return "ok"
