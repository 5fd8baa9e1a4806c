"""API keys over `X-API-Key` or `Authorization: Bearer`, scopes, and project isolation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from cachetools import TTLCache
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ferryman.api.codes import ErrorCode
from ferryman.api.errors import ApiError
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


class Principals:
    """Keys this process has seen lately, so most requests cost no database read.

    Revoking or rotating through this process forgets them at once; another API process
    stops accepting a revoked key within `ttl_secs` (FERRYMAN_METADATA_CACHE_SECS).
    Unknown keys are never remembered: a key created elsewhere works at once.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl_secs: float) -> None:
        self.sessions = sessions
        self._seen: TTLCache[str, Principal] = TTLCache(maxsize=10_000, ttl=ttl_secs)

    async def find(self, raw: str) -> Principal | None:
        known = repository.digest(raw)
        principal = self._seen.get(known)
        if principal is None:
            async with self.sessions() as session:
                key = await repository.find_api_key(session, raw)
            if key is None:
                return None
            principal = Principal(key.project_id, key.id, frozenset(key.scopes))
            self._seen[known] = principal
        return principal

    def forget_all(self) -> None:
        self._seen.clear()


def _invalid_key() -> ApiError:
    return ApiError("Invalid or missing API key", ErrorCode.INVALID_API_KEY)


async def authenticate(
    request: Request,
    api_key: Annotated[str | None, Security(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    raw = api_key or (bearer.credentials if bearer else None)
    if not raw:
        raise _invalid_key()
    principals: Principals = request.app.state.resources.principals
    principal = await principals.find(raw.strip())
    if principal is None:
        raise _invalid_key()
    request.state.project = principal.project_id  # the request's log line names it
    return principal


def require(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that authenticates and checks one scope (403 naming it)."""
    assert scope in SCOPES, scope

    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        return check_scope(principal, scope)

    return check


def check_scope(principal: Principal, scope: str) -> Principal:
    """The principal if its key has `scope`; else 403 naming the scope."""
    if not principal.allows(scope):
        raise ApiError(f"this API key lacks the {scope!r} scope", ErrorCode.INSUFFICIENT_SCOPE)
    return principal


ReadWorkflows = Annotated[Principal, Depends(require("workflows:read"))]
WriteWorkflows = Annotated[Principal, Depends(require("workflows:write"))]
Execute = Annotated[Principal, Depends(require("workflows:execute"))]
ReadExecutions = Annotated[Principal, Depends(require("executions:read"))]
Admin = Annotated[Principal, Depends(require("admin"))]
