"""`python -m bench.dbos_app DATABASE_URL PORT`: DBOS Transact's side, run with the DBOS venv
(`bench/.venv-dbos`, made by `bench/dbos_setup.sh`; DBOS is not one of ferryman's
dependencies).

What a DBOS user writes: a workflow of three `@DBOS.step()`s that GET the bench's HTTP
service with httpx, in a FastAPI app that launches DBOS from its lifespan (as DBOS's starter
template does). `POST /runs` starts the workflow in the background (`start_workflow_async`)
and `GET /runs/{id}` answers its status (`get_workflow_status_async`), so DBOS pays an HTTP
hop per create and per read like ferryman and the facade. Its system database is the
PostgreSQL database the bench made for this run. Imports nothing of ferryman.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from dbos import DBOS, DBOSConfig
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

_client: httpx.AsyncClient | None = None


def _http() -> httpx.AsyncClient:
    """One connection pool per process, as any service keeps one."""
    global _client
    if _client is None:
        _client = httpx.AsyncClient()
    return _client


@DBOS.step()
async def get(url: str) -> Any:
    response = await _http().get(url)
    response.raise_for_status()
    return response.json()


@DBOS.workflow()
async def three_gets(url: str) -> Any:
    await get(url)
    await get(url)
    return await get(url)


class NewRun(BaseModel):
    url: str


class Run(BaseModel):
    id: str
    status: str  # DBOS's: PENDING, SUCCESS, ERROR, ...


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    DBOS.launch()
    try:
        yield
    finally:
        DBOS.destroy()


app = FastAPI(lifespan=lifespan)


@app.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


@app.post("/runs", status_code=201)
async def start(new: NewRun) -> Run:
    handle = await DBOS.start_workflow_async(three_gets, new.url)
    return Run(id=handle.get_workflow_id(), status="PENDING")


@app.get("/runs/{run_id}")
async def read(run_id: str) -> Run:
    status = await DBOS.get_workflow_status_async(run_id)
    if status is None:
        raise HTTPException(404, "no such run")
    return Run(id=run_id, status=status.status)


if __name__ == "__main__":
    database_url, port = sys.argv[1], int(sys.argv[2])
    config: DBOSConfig = {
        "name": "ferryman-bench",
        "system_database_url": database_url,
        "log_level": "WARNING",
    }
    DBOS(config=config)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
