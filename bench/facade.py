"""`python -m bench.facade ADDRESS QUEUE PORT`: the minimal facade a team would write by hand.

A FastAPI app under uvicorn, in its own process: `POST /runs` starts `RawThreeGets` on the
facade's queue (served by a raw worker of its own) and `GET /runs/{id}` answers the run's
status from `describe()`. No auth, no definitions, no checks: the floor of any HTTP layer
over Temporal, which ferryman's API is measured against. Imports nothing of ferryman.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from bench.raw_workloads import RawThreeGets


class NewRun(BaseModel):
    url: str


class Run(BaseModel):
    id: str
    status: str  # Temporal's: RUNNING, COMPLETED, FAILED, ...


def create_app(address: str, queue: str) -> FastAPI:
    clients: list[Client] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        clients.append(await Client.connect(address))
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/runs", status_code=201)
    async def start(new: NewRun) -> Run:
        handle = await clients[0].start_workflow(
            RawThreeGets.run, new.url, id=f"facade-{uuid.uuid4().hex}", task_queue=queue
        )
        return Run(id=handle.id, status="RUNNING")

    @app.get("/runs/{run_id}")
    async def read(run_id: str) -> Run:
        try:
            described = await clients[0].get_workflow_handle(run_id).describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise HTTPException(404, "no such run") from err
            raise
        status = described.status.name if described.status else "UNKNOWN"
        return Run(id=run_id, status=status)

    return app


if __name__ == "__main__":
    address, queue, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    uvicorn.run(
        create_app(address, queue),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
