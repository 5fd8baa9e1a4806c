"""The FastAPI application: a thin HTTP facade over Temporal and the metadata store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from temporalio.client import Client

from ferryman import __version__, metrics, tracing
from ferryman.api.auth import Principals
from ferryman.api.bootstrap import bootstrap_key, load_workflows_dir
from ferryman.api.definitions import DefinitionService
from ferryman.api.deps import Resources
from ferryman.api.envelope import add_exception_handlers
from ferryman.api.executions import Executions
from ferryman.api.idempotency import IdempotencyService
from ferryman.api.middleware import (
    QUIET_PATHS,
    BodyLimitMiddleware,
    BodyTextMiddleware,
    RequestContextMiddleware,
)
from ferryman.api.store import db
from ferryman.api.surfaces import health, prometheus
from ferryman.api.surfaces.dashboard import routes as dashboard
from ferryman.api.surfaces.routes import SURFACES
from ferryman.settings import Settings, get_settings
from ferryman.temporal import check_search_attributes, connect
from ferryman.workflows.dsl import WorkflowDefinition

DESCRIPTION = """
ferryman runs declarative workflows durably on Temporal. Authenticate with an API key in
`X-API-Key` or `Authorization: Bearer`. Every error is `{"error", "code", "request_id"}`
(plus `details` for validation errors); `code` is stable, the sentence is for people.
"""


async def open_resources(settings: Settings, client: Client, store: db.Store) -> Resources:
    """The services on the process's one Temporal client and one metadata store."""
    sessions = store.sessions
    definitions = DefinitionService(sessions, settings)
    resources = Resources(
        settings=settings,
        client=client,
        engine=store.engine,
        sessions=sessions,
        principals=Principals(sessions, settings.metadata_cache_secs),
        executions=Executions.create(client, settings, definitions),
        definitions=definitions,
        idempotency=IdempotencyService(sessions),
    )
    await bootstrap_key(settings, definitions)
    await load_workflows_dir(settings, definitions)
    return resources


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = app.state.settings
    client = await connect(
        settings, interceptors=tracing.client_interceptors(settings, tracing.API)
    )
    await check_search_attributes(client)
    async with db.open_store(settings.resolved_database_url) as store:
        app.state.resources = await open_resources(settings, client, store)
        with metrics.serve_api(settings):
            yield


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # The docs pages load Swagger UI and ReDoc from the package: /docs works offline.
    # FastAPI's own telemetry makes each request's span when traces are on.
    app = FastAPIOffline(
        title="ferryman",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        telemetry=tracing.fastapi_telemetry(settings, untraced=QUIET_PATHS),
    )
    app.state.settings = settings
    # Added last runs first: the request id exists before a body is refused as too large,
    # and a body is read whole for its text check only within the limit.
    app.add_middleware(BodyTextMiddleware)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, log_probes=settings.log_probe_requests)
    add_exception_handlers(app, [(s.prefix, s.status_phrase) for s in SURFACES])
    app.include_router(health.router)
    if settings.metrics_port is None:  # else served on a port of its own (lifespan)
        app.include_router(prometheus.router)
    for surface in SURFACES:
        app.include_router(surface.router)
    app.mount(dashboard.STATIC_PATH, dashboard.static_files(), name="dashboard-static")
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def operation_id(route: APIRoute) -> str:
    """Each operation's id is its route function's name (`create_execution`): short and
    stable, so generated clients read well. Unique across the app (checked by a test)."""
    return route.name


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document plus the definition schema that the raw-body routes refer to."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schema = WorkflowDefinition.model_json_schema(
            by_alias=True, ref_template="#/components/schemas/{model}"
        )
        components = document.setdefault("components", {}).setdefault("schemas", {})
        components.update(schema.pop("$defs", {}))
        components["WorkflowDefinition"] = schema
        app.openapi_schema = document
    return app.openapi_schema
