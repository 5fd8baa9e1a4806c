"""API keys over `X-API-Key` or `Authorization: Bearer`, scopes, and project isolation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ferryman.api.errors import Forbidden, Unauthorized
from ferryman.api.store import repository

SCOPES = {
    "workflows:read": "read workflow definitions",
    "workflows:write": "create, version and disable workflow definitions",
    "workflows:execute": "start and control executions",
    "executions:read": "read executions, events, checkpoints and streams",
    "admin": "manage keys and projects; implies every other scope",
}

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key")
_bearer = HTTPBearer(auto_error=False, description="An API key as a bearer token")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key of one project with some scopes."""

    project_id: str
    key_id: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


async def authenticate(
    request: Request,
    api_key: Annotated[str | None, Security(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    raw = api_key or (bearer.credentials if bearer else None)
    if not raw:
        raise Unauthorized("Invalid or missing API key")
    sessions = request.app.state.resources.sessions
    async with sessions() as session:
        key = await repository.find_api_key(session, raw.strip())
    if key is None:
        raise Unauthorized("Invalid or missing API key")
    return Principal(project_id=key.project_id, key_id=key.id, scopes=frozenset(key.scopes))


def require(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that authenticates and checks one scope (403 naming it)."""
    assert scope in SCOPES, scope

    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.allows(scope):
            raise Forbidden(f"this API key lacks the {scope!r} scope")
        return principal

    return check


ReadWorkflows = Annotated[Principal, Depends(require("workflows:read"))]
WriteWorkflows = Annotated[Principal, Depends(require("workflows:write"))]
Execute = Annotated[Principal, Depends(require("workflows:execute"))]
ReadExecutions = Annotated[Principal, Depends(require("executions:read"))]
Admin = Annotated[Principal, Depends(require("admin"))]
