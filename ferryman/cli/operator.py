"""The operator's commands: `up`, `worker`, `api`, `keys` and `debug`.

Settings come from the environment (`ferryman.settings.Settings`); options given on the
command line override them. Heavy imports (the API, the store, the worker) happen inside the
commands so `ferryman --help` stays fast. A Temporal that is unreachable or lacks the search
attributes ends a command with one sentence on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table
from temporalio.service import RPCError

from ferryman.cli.groups import group
from ferryman.settings import Settings
from ferryman.temporal import TemporalSetupError
from ferryman.validation import error_sentence

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
USAGE_ERROR = 2  # bad input or an unprepared Temporal: the same code as a usage error

app = group()
keys_app = group(help="Manage the API keys of a project.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
debug_app = group(help="Look into runs offline.", no_args_is_help=True)
app.add_typer(debug_app, name="debug")

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="FERRYMAN_DATA_DIR",
        help="SQLite files, the dev key and logs [default: .ferryman]",
        show_default=False,
    ),
]
Project = Annotated[str, typer.Option("--project", help="The project the keys belong to.")]
_DEFAULTS = Settings.model_fields
Host = Annotated[
    str | None,
    typer.Option(
        envvar="FERRYMAN_API_HOST",
        help=f"The API's address [default: {_DEFAULTS['api_host'].default}]",
    ),
]
Port = Annotated[
    int | None,
    typer.Option(
        envvar="FERRYMAN_API_PORT",
        help=f"The API's port [default: {_DEFAULTS['api_port'].default}]",
    ),
]


def fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    err_console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def load_settings(**overrides: Any) -> Settings:
    """Environment settings with the options the user gave (None means "not given")."""
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as err:
        fail(error_sentence(err))


def explain_temporal_failure(err: BaseException, settings: Settings) -> str | None:
    """One sentence for a Temporal that is unreachable or unprepared; None for other errors."""
    if isinstance(err, TemporalSetupError):
        return str(err)
    where = f"Temporal at {settings.temporal_address}"
    if isinstance(err, RuntimeError) and str(err).startswith("Failed client connect"):
        return (
            f"cannot reach {where} ({err}); start it (`ferryman up` runs one) "
            "or point TEMPORAL_ADDRESS at it"
        )
    if isinstance(err, RPCError):
        return f"{where}, namespace {settings.temporal_namespace!r}, refused: {err.message}"
    return None


def run_with_temporal(work: Coroutine[Any, Any, None], settings: Settings) -> None:
    try:
        asyncio.run(work)
    except (TemporalSetupError, RuntimeError, RPCError) as err:
        sentence = explain_temporal_failure(err, settings)
        if sentence is None:
            raise
        fail(sentence)


@app.command()
def up(
    data_dir: DataDir = None,
    port: Port = None,
    temporal_port: Annotated[
        int,
        typer.Option(envvar="FERRYMAN_TEMPORAL_PORT", help="The Temporal dev server's port."),
    ] = 7233,
    ui_port: Annotated[
        int, typer.Option(envvar="FERRYMAN_UI_PORT", help="The Temporal Web UI's port.")
    ] = 8233,
    host: Host = None,
) -> None:
    """Run everything on this machine: Temporal dev server, a worker and the API (its URL
    and dev key are written to the data dir: `api-url`, `dev-api-key`)."""
    from ferryman.supervisor import DEV_NAMESPACE, run_up

    settings = load_settings(
        data_dir=(data_dir or load_settings().data_dir).resolve(),
        api_host=host,
        api_port=port,
        temporal_address=f"127.0.0.1:{temporal_port}",
        temporal_namespace=DEV_NAMESPACE,
    )
    raise typer.Exit(run_up(settings, temporal_port, ui_port))


@app.command()
def worker(data_dir: DataDir = None) -> None:
    """Run a worker: executes workflows and steps until SIGTERM, then drains."""
    from ferryman.logging import configure_logging
    from ferryman.supervisor import follow_supervisor
    from ferryman.worker import exit_drained, run_worker

    settings = load_settings(data_dir=data_dir)
    follow_supervisor()
    configure_logging(settings)
    try:
        run_with_temporal(run_worker(settings), settings)
    except typer.Exit as refused:  # the sentence is printed; leave as a drained worker does
        exit_drained(refused.exit_code)
    exit_drained()


@app.command()
def api(data_dir: DataDir = None, host: Host = None, port: Port = None) -> None:
    """Serve the HTTP API."""
    from ferryman.logging import configure_logging
    from ferryman.supervisor import follow_supervisor

    settings = load_settings(data_dir=data_dir, api_host=host, api_port=port)
    follow_supervisor()
    configure_logging(settings)
    serve_api(settings)


def serve_api(settings: Settings) -> None:
    """uvicorn on the app; a Temporal failure in the app's start-up becomes one sentence."""
    import uvicorn

    from ferryman.api.app import create_app

    application = create_app(settings)
    failures: list[BaseException] = []
    _record_lifespan_failure(application, failures, settings)
    config = uvicorn.Config(
        _quiet_explained_failures(application, failures, settings),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,  # structlog (configure_logging) formats uvicorn's records too
        access_log=False,  # the request middleware logs each request once
        timeout_graceful_shutdown=math.ceil(settings.graceful_shutdown_secs),
        lifespan="on",
    )
    try:
        uvicorn.Server(config).run()
    except SystemExit:  # uvicorn's way of saying the start-up failed
        sentence = explain_temporal_failure(failures[0], settings) if failures else None
        if sentence is None:
            raise
        fail(sentence)


def _record_lifespan_failure(
    application: FastAPI, failures: list[BaseException], settings: Settings
) -> None:
    inner = application.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        try:
            async with inner(app) as state:
                yield state
        except BaseException as err:
            failures.append(err)
            raise

    application.router.lifespan_context = lifespan


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
Receive = Callable[[], Awaitable[Message]]


def _quiet_explained_failures(
    application: FastAPI, failures: list[BaseException], settings: Settings
) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """Drop the start-up traceback uvicorn would log when the sentence says it all."""

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        async def quiet_send(message: Message) -> None:
            explained = failures and explain_temporal_failure(failures[0], settings)
            if message["type"] == "lifespan.startup.failed" and explained:
                message = {**message, "message": ""}
            await send(message)

        await application(scope, receive, quiet_send if scope["type"] == "lifespan" else send)

    return asgi


# --- keys ---------------------------------------------------------------------------------


def check_scopes(scopes: list[str]) -> list[str]:
    from ferryman.api.auth import SCOPES

    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        fail(f"unknown scope {unknown[0]!r}; scopes are {', '.join(SCOPES)}")
    return sorted(set(scopes))


def run_on_store(work: Coroutine[Any, Any, T], settings: Settings) -> T:
    """Run a store coroutine; an unreachable database ends with a sentence, not a traceback."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    try:
        return asyncio.run(work)
    except (OperationalError, OSError) as err:
        url = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
        fail(f"cannot use the metadata database {url}: {getattr(err, 'orig', None) or err}", 1)


@asynccontextmanager
async def metadata_session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session on the migrated metadata database (created on first use)."""
    from ferryman.api.store import db

    async with db.open_store(settings.resolved_database_url) as store, store.sessions() as session:
        yield session


@keys_app.command("create")
def keys_create(
    project: Project,
    scope: Annotated[list[str], typer.Option("--scope", help="Repeat for several scopes.")],
    name: Annotated[str | None, typer.Option(help="A label for people.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a key; the key itself is printed once, as the last line."""
    scopes = check_scopes(scope)
    settings = load_settings(data_dir=data_dir)

    async def create() -> tuple[Any, str]:
        from ferryman.api.store import repository

        async with metadata_session(settings) as session:
            await repository.ensure_project(session, project)
            return await repository.create_api_key(session, project, scopes, name=name)

    key, raw = run_on_store(create(), settings)
    console.print(
        f"created key {escape(key.id)} in project {escape(project)} with scopes "
        f"{escape(', '.join(scopes))}; it is shown only now:",
        soft_wrap=True,
    )
    typer.echo(raw)  # plain and last, for `| tail -1`


@keys_app.command("list")
def keys_list(project: Project, data_dir: DataDir = None) -> None:
    """List a project's keys (their prefixes, never the keys)."""
    settings = load_settings(data_dir=data_dir)

    async def fetch() -> list[Any]:
        from ferryman.api.store import repository

        async with metadata_session(settings) as session:
            return list(await repository.list_api_keys(session, project))

    keys = run_on_store(fetch(), settings)
    # Ids are copied into `keys revoke`: never shortened, whatever the terminal's width.
    widest = max((len(key.id) for key in keys), default=2)
    table = Table(
        Column("id", no_wrap=True, min_width=widest),
        Column("prefix", no_wrap=True),
        "name",
        Column("scopes", overflow="fold"),
        "created",
        "revoked",
    )
    for key in keys:
        table.add_row(
            key.id,
            key.prefix,
            key.name or "",
            "\n".join(key.scopes),
            _when(key.created_at),
            _when(key.revoked_at),
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (see `keys list`).")],
    project: Project,
    data_dir: DataDir = None,
) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    from ferryman.api.store.errors import NotFound

    settings = load_settings(data_dir=data_dir)

    async def revoke() -> None:
        from ferryman.api.store import repository

        async with metadata_session(settings) as session:
            await repository.revoke_api_key(session, project, key_id)

    try:
        run_on_store(revoke(), settings)
    except NotFound:
        fail(f"project {project!r} has no key {key_id!r}", code=1)
    console.print(f"revoked key {escape(key_id)} of project {escape(project)}")


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment is not None else ""


# --- debug --------------------------------------------------------------------------------


@debug_app.command("replay")
def debug_replay(
    bundle: Annotated[
        Path, typer.Argument(help="A debug bundle (GET /v1/runs/{id}/debug-bundle).")
    ],
) -> None:
    """Replay a bundle's Temporal history against the installed workflow code: exit 0 when
    it replays, 1 with the first divergence named (a change that would break such runs)."""
    from temporalio.client import WorkflowHistory

    from ferryman.worker import build_replayer

    try:
        document = json.loads(bundle.read_text())
        history = WorkflowHistory.from_json(
            str(document.get("run", {}).get("id", "run")), document["history"]
        )
    except (OSError, ValueError, KeyError, TypeError) as err:
        fail(f"{bundle} is not a debug bundle: {err}")
    if not history.events:
        fail(f"{bundle} holds no history events")
    result = asyncio.run(build_replayer().replay_workflow(history, raise_on_replay_failure=False))
    if result.replay_failure is not None:
        err_console.print(f"[red]diverges:[/] {escape(str(result.replay_failure))}", soft_wrap=True)
        raise typer.Exit(1)
    console.print(
        f"replays: the installed code makes the same decisions for run {history.workflow_id} "
        f"({len(history.events)} events)"
    )
