"""Process-wide resources (one Temporal client, one DB engine) and their dependencies.

The dependencies are `async def` although they never wait: FastAPI runs a plain `def`
dependency in its thread pool, a thread hop per dependency per request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client

from ferryman.api.auth import Principals
from ferryman.api.definitions import DefinitionService
from ferryman.api.executions import Executions
from ferryman.api.idempotency import IdempotencyService
from ferryman.settings import Settings


@dataclass
class Resources:
    settings: Settings
    client: Client
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    principals: Principals
    executions: Executions
    definitions: DefinitionService
    idempotency: IdempotencyService


async def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


async def get_executions(request: Request) -> Executions:
    return (await get_resources(request)).executions


async def get_definitions(request: Request) -> DefinitionService:
    return (await get_resources(request)).definitions


async def get_idempotency(request: Request) -> IdempotencyService:
    return (await get_resources(request)).idempotency


ResourcesDep = Annotated[Resources, Depends(get_resources)]
ExecutionsDep = Annotated[Executions, Depends(get_executions)]
DefinitionsDep = Annotated[DefinitionService, Depends(get_definitions)]
IdempotencyDep = Annotated[IdempotencyService, Depends(get_idempotency)]
