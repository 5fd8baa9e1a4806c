"""Signing in to the dashboard with an API key, and what a session may do.

The key goes in by a POST form and is kept in one cookie: HttpOnly (no script reads it),
SameSite=Strict (no other site's page sends it), Secure over HTTPS, scoped to `/ui`. It is
never in a URL nor in a page. The cookie is `<nonce>.<key>`: the nonce, new at each sign-in,
gives the session its CSRF token (an HMAC of the nonce under the key) that every action
form carries. The key is checked on every request with the API's own code
(`Principals.find`), so a revoked key ends its sessions as it ends its API calls.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from ferryman.api.auth import Principal, Principals, check_scope
from ferryman.api.codes import ErrorCode
from ferryman.api.errors import ApiError
from ferryman.api.surfaces.dashboard.rendering import (
    PREFIX,
    DashboardRoute,
    SignInRequired,
    page,
)

COOKIE = "ferryman_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
EXECUTE = "workflows:execute"
READ_RUNS = "executions:read"
READ_JOBS = "workflows:read"

router = APIRouter(route_class=DashboardRoute)


@dataclass(frozen=True)
class Session:
    principal: Principal
    csrf: str

    @property
    def project_id(self) -> str:
        return self.principal.project_id

    def can(self, scope: str) -> bool:
        return self.principal.allows(scope)

    def require(self, scope: str) -> Principal:
        """The principal if the key has `scope`; else the API's 403 sentence."""
        return check_scope(self.principal, scope)

    @property
    def may_act(self) -> bool:
        return self.can(EXECUTE)


def _csrf(key: str, nonce: str) -> str:
    return hmac.new(key.encode(), nonce.encode(), hashlib.sha256).hexdigest()


async def current(request: Request) -> Session:
    """The signed-in session; sign in otherwise."""
    nonce, _, key = request.cookies.get(COOKIE, "").partition(".")
    if not nonce or not key:
        raise SignInRequired
    principals: Principals = request.app.state.resources.principals
    principal = await principals.find(key)
    if principal is None:
        raise SignInRequired
    session = Session(principal, _csrf(key, nonce))
    request.state.dashboard_session = session
    request.state.project = principal.project_id  # the request's log line names it
    return session


async def check_csrf(request: Request, session: Session) -> None:
    """The form (or htmx's header) carries this session's token: it came from its page."""
    sent = request.headers.get(CSRF_HEADER) or (await request.form()).get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(sent, session.csrf):
        raise ApiError(
            "this form is not from this dashboard session (its token is missing or stale); "
            "reload the page and try again",
            ErrorCode.CSRF_TOKEN_INVALID,
        )


async def acting(request: Request, session: Annotated[Session, Depends(current)]) -> Session:
    """A session allowed to act (the execute scope, checked first: a read-only key hears
    which scope it lacks), from one of its own pages."""
    session.require(EXECUTE)
    await check_csrf(request, session)
    return session


SessionDep = Annotated[Session, Depends(current)]
ActingDep = Annotated[Session, Depends(acting)]


def _next(target: str | None) -> str:
    """Back where sign-in was asked for: a dashboard path only (no open redirect)."""
    if target and target.startswith(f"{PREFIX}/") and not target.startswith("//"):
        return target
    return f"{PREFIX}/"


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return page(request, "login.html", session=None, next=_next(next))


@router.post("/login")
async def login(
    request: Request,
    key: Annotated[str, Form(max_length=512)] = "",
    next: Annotated[str | None, Form(max_length=2048)] = None,
) -> Response:
    principals: Principals = request.app.state.resources.principals
    raw = key.strip()
    if not raw or await principals.find(raw) is None:
        return page(
            request,
            "login.html",
            status_code=401,
            session=None,
            next=_next(next),
            error="Invalid or missing API key",
        )
    response = RedirectResponse(_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        f"{secrets.token_urlsafe(16)}.{raw}",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=PREFIX,
    )
    return response


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    await check_csrf(request, session)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict")
    return response
