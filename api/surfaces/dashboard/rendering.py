"""How the dashboard answers: templates (autoescaped), its static files, and refusals.

Every dashboard route is a `DashboardRoute`: an error the domain raises (an `ApiError` and
the rest that the JSON surfaces answer as the envelope) is answered here as HTML with the
same HTTP status and the same sentence: a fragment for an htmx request (shown in the page's
flash area), a whole page otherwise. A request without a session goes to the sign-in page.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from temporalio.service import RPCError

from ferryman import __version__
from ferryman.api.codes import ErrorCode
from ferryman.api.envelope import HTTP_STATUS
from ferryman.api.errors import ApiError, InvalidState, temporal_error
from ferryman.api.store.errors import StoreError
from ferryman.api.surfaces.dashboard import views
from ferryman.api.surfaces.v1.statuses import status_phrase
from ferryman.validation import error_sentence
from ferryman.workflows.errors import DefinitionError

HERE = Path(__file__).parent
PREFIX = "/ui"
STATIC_PATH = f"{PREFIX}/static"
# The vendored scripts (static/vendor/README.md says where each comes from).
VENDOR = {
    "htmx": "vendor/htmx-2.0.11.min.js",
    "sse": "vendor/htmx-ext-sse-2.2.4.min.js",
}

templates = Jinja2Templates(directory=HERE / "templates")  # autoescape is on
templates.env.globals.update(
    prefix=PREFIX,
    static=lambda name: f"{STATIC_PATH}/{name}?v={__version__}",
    vendor=VENDOR,
    look=views.look,
    when=views.when,
    ago=views.ago,
    duration=views.duration,
    pretty=views.pretty,
    waiting_now=views.waiting_now,
    version=__version__,
)


def static_files() -> StaticFiles:
    return StaticFiles(directory=HERE / "static")


class SignInRequired(Exception):
    """No session, or one whose key no longer works: sign in (again)."""


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A template rendered with the request's session (if any) in its context."""
    context.setdefault("session", getattr(request.state, "dashboard_session", None))
    context.setdefault("path", request.url.path)
    context.setdefault("done", views.DONE.get(request.query_params.get("done", "")))
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def fragment(name: str, **context: Any) -> str:
    """A partial template as text, for server-sent events."""
    return templates.get_template(name).render(prefix=PREFIX, **context)


def go(request: Request, url: str) -> Response:
    """After a successful action: a full page load of `url` (htmx follows `HX-Redirect`)."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def sentence_of(exc: Exception) -> tuple[str, ErrorCode] | None:
    """What the JSON surfaces answer for `exc` (`api/envelope.py`): its sentence and code;
    None for an error they answer as an internal one."""
    if isinstance(exc, InvalidState):
        return exc.sentence(status_phrase), exc.code
    if isinstance(exc, ApiError):
        return exc.message, exc.code
    if isinstance(exc, StoreError):
        return str(exc), exc.code
    if isinstance(exc, DefinitionError):
        return str(exc), ErrorCode.DEFINITION_INVALID
    if isinstance(exc, RequestValidationError):
        return error_sentence(list(exc.errors()), drop="body", limit=1), ErrorCode.VALIDATION_ERROR
    if isinstance(exc, RPCError):
        mapped = temporal_error(exc)
        return mapped.message, mapped.code
    return None


def refusal(request: Request, message: str, code: ErrorCode) -> HTMLResponse:
    """The API's sentence, with the code's status: in the flash area, or as a page."""
    status = HTTP_STATUS[code]
    if is_htmx(request):
        html = fragment("_flash.html", error=message, code=code.value)
        headers = {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML show:top"}
        return HTMLResponse(html, status_code=status, headers=headers)
    return page(request, "error.html", status_code=status, message=message, code=code.value)


def sign_in(request: Request) -> Response:
    """To the sign-in page, then back here (a GET) once signed in."""
    back = request.url.path if request.method == "GET" else f"{PREFIX}/runs"
    if request.method == "GET" and request.url.query:
        back += "?" + request.url.query
    url = f"{PREFIX}/login?next={quote(back, safe='')}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


class DashboardRoute(APIRoute):
    """A route whose refusals are HTML (see the module's docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                return sign_in(request)
            except Exception as exc:
                known = sentence_of(exc)
                if known is None:
                    raise  # the app's handler logs it and answers 500
                return refusal(request, *known)

        return route
