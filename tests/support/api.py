"""The API app on the session's dev server, driven over HTTP (httpx + ASGI transport)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import pytest_asyncio
from fastapi import FastAPI

from ferryman.api.app import create_app
from ferryman.api.store import repository
from ferryman.settings import Settings

ADMIN_KEY = "fm_test_admin_key_0123456789abcdefghijklmnop"


class KeyFor(Protocol):
    """A new key of `project` (created if missing) with `scopes` (admin by default), as the
    headers that send it."""

    async def __call__(
        self, project: str = "default", scopes: list[str] | None = None
    ) -> dict[str, str]: ...


@dataclass
class Api:
    app: FastAPI
    http: httpx.AsyncClient
    admin: dict[str, str]
    key_for: KeyFor

    async def create_workflow(self, document: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post("/api/v1/workflows", json=document, headers=self.admin)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def run(self, workflow_id: str, input_data: dict[str, Any] | None = None) -> str:
        response = await self.http.post(
            "/api/v1/executions",
            json={"workflow_id": workflow_id, "input_data": input_data or {}},
            headers=self.admin,
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def execution(self, execution_id: str, **params: Any) -> dict[str, Any]:
        response = await self.http.get(
            f"/api/v1/executions/{execution_id}", params=params, headers=self.admin
        )
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest_asyncio.fixture(scope="session")
async def api(base_settings: Settings, worker: None) -> AsyncIterator[Api]:
    settings = base_settings.model_copy(
        update={"bootstrap_api_key": ADMIN_KEY, "stuck_after_secs": 1.0}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        sessions = app.state.resources.sessions

        async def key_for(
            project: str = "default", scopes: list[str] | None = None
        ) -> dict[str, str]:
            async with sessions() as session:
                await repository.ensure_project(session, project)
                _, raw = await repository.create_api_key(session, project, scopes or ["admin"])
            return {"X-API-Key": raw}

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ferryman.test") as http:
            yield Api(app=app, http=http, admin={"X-API-Key": ADMIN_KEY}, key_for=key_for)
