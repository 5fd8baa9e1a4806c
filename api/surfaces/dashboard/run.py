"""`/ui/runs/{id}`: one run (timeline, steps, events, checkpoints, LLM records, lineage,
children, dependencies, what it waits on, a stuck run's diagnosis), its live updates, its
LLM tokens as they stream, and its buttons. Each button is the domain call its `/v1` (or
`/api/v1`) route makes; each answers with a page load of the run it leaves you on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, Literal, get_args
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request, Response
from sse_starlette import EventSourceResponse

from ferryman.api.codes import ErrorCode
from ferryman.api.deps import ExecutionsDep
from ferryman.api.errors import ApiError
from ferryman.api.executions import Executions, dependencies, triage
from ferryman.api.executions.events import Event
from ferryman.api.executions.restore import check_replayable
from ferryman.api.surfaces.common import SSE_PING_SECS
from ferryman.api.surfaces.dashboard import views
from ferryman.api.surfaces.dashboard.rendering import PREFIX, DashboardRoute, fragment, go, page
from ferryman.api.surfaces.dashboard.session import READ_RUNS, ActingDep, Session, SessionDep
from ferryman.statuses import TERMINAL_STATUSES

router = APIRouter(route_class=DashboardRoute)
RunId = Annotated[str, Path(max_length=64)]
EVENTS_SHOWN = 2000
# Events after which the run's head and steps are read and drawn again.
REDRAW = ("step.", "execution.", "signal.", "checkpoint.", "run.")


def _url(run_id: str, done: str | None = None) -> str:
    return f"{PREFIX}/runs/{quote(run_id)}" + (f"?done={done}" if done else "")


async def _live_context(
    executions: Executions, session: Session, run_id: str, events: list[Event]
) -> dict[str, Any]:
    """What the head and the steps show: the run read now, its timeline from `events`."""
    reader = executions.reader
    view = await reader.detail(session.project_id, run_id)
    folded = await reader.fold_described(await reader.describe(session.project_id, run_id))
    closed = view.closed_at if view.status in TERMINAL_STATUSES else None
    return {
        "session": session,
        "run": view,
        "closed": closed is not None,
        "actions": views.RunActions.of(view),
        "resolutions": triage.resolutions(view),
        "timeline": views.timeline(view.steps or [], events, closed),
        "ai": folded.ai,
    }


@router.get("/runs/{run_id}")
async def show_run(
    request: Request,
    run_id: RunId,
    session: SessionDep,
    executions: ExecutionsDep,
) -> Response:
    session.require(READ_RUNS)
    reader, project_id = executions.reader, session.project_id
    history = await executions.events.page(project_id, run_id, 0, EVENTS_SHOWN)
    live = await _live_context(executions, session, run_id, history.items)
    view = live["run"]
    lineage, children, deps = await asyncio.gather(
        reader.lineage(project_id, run_id),
        reader.children(project_id, run_id),
        dependencies.of_run(reader, project_id, run_id) if view.run.dependencies else _none(),
    )
    settings = request.app.state.settings
    ui = settings.temporal_ui_url
    return page(
        request,
        "run.html",
        **live,
        events=history.items,
        last_event=history.items[-1].id if history.items else 0,
        lineage=lineage,
        children=children,
        deps=deps,
        temporal_url=f"{ui.rstrip('/')}/namespaces/{settings.temporal_namespace}/workflows/"
        f"{quote(run_id)}"
        if ui
        else None,
        streams_llm=any(s.kind == "llm" for s in view.steps or []),
    )


async def _none() -> None:
    return None


@router.get("/runs/{run_id}/stream")
async def stream_run(
    run_id: RunId, session: SessionDep, executions: ExecutionsDep, after: int = 0
) -> EventSourceResponse:
    """`event` (a line of the event list) for each event after `after`; `head` and `steps`
    drawn again after each burst of them; `closed` once the run has closed."""
    session.require(READ_RUNS)
    stream = await executions.events.stream(session.project_id, run_id, 0)
    updates = _run_updates(executions, session, run_id, stream, after)
    return EventSourceResponse(updates, ping=SSE_PING_SECS)


async def _run_updates(
    executions: Executions,
    session: Session,
    run_id: str,
    stream: AsyncIterator[Event],
    after: int,
) -> AsyncIterator[dict[str, str]]:
    queue: asyncio.Queue[Event | None] = asyncio.Queue()

    async def pump() -> None:
        async for event in stream:
            await queue.put(event)
        await queue.put(None)

    pumping = asyncio.create_task(pump())
    seen: list[Event] = []
    try:
        ended = False
        while not ended:
            burst = [await queue.get()]
            while not queue.empty():  # what arrived together is drawn once
                burst.append(queue.get_nowait())
            ended = burst[-1] is None
            fresh = [event for event in burst if event is not None]
            seen += fresh
            for event in fresh:
                if event.id > after:
                    yield {"event": "event", "data": fragment("_event.html", event=event)}
            if ended or any(e.id > after and e.type.startswith(REDRAW) for e in fresh):
                context = await _live_context(executions, session, run_id, seen)
                yield {"event": "head", "data": fragment("_run_head.html", **context)}
                yield {"event": "steps", "data": fragment("_steps.html", **context)}
        yield {"event": "closed", "data": ""}
    finally:
        pumping.cancel()


@router.get("/runs/{run_id}/chunks")
async def stream_chunks(
    run_id: RunId, session: SessionDep, executions: ExecutionsDep
) -> EventSourceResponse:
    """The run's `llm` tokens as they stream (`ExecutionEvents.chunks`), then `closed`."""
    session.require(READ_RUNS)
    chunks = await executions.events.chunks(session.project_id, run_id, None)

    async def relay() -> AsyncIterator[dict[str, str]]:
        async for offset, chunk in chunks:
            yield {"id": str(offset), "event": "chunk", "data": chunk.model_dump_json()}
        yield {"event": "closed", "data": ""}

    return EventSourceResponse(relay(), ping=SSE_PING_SECS)


# ---- the buttons ---------------------------------------------------------------------------


@router.post("/runs/{run_id}/reschedule")
async def reschedule(
    request: Request,
    run_id: RunId,
    session: ActingDep,
    executions: ExecutionsDep,
    scheduled_at: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Move a delayed run's start to a time given in UTC."""
    moment = views.moment("scheduled_at", scheduled_at.strip(), ErrorCode.VALIDATION_ERROR)
    if moment is None:
        raise ApiError("scheduled_at is required: the new start time", ErrorCode.VALIDATION_ERROR)
    await executions.control.reschedule(session.project_id, run_id, moment)
    return go(request, _url(run_id, "rescheduled"))


@router.post("/runs/{run_id}/approve")
async def approve(
    request: Request,
    run_id: RunId,
    session: ActingDep,
    executions: ExecutionsDep,
    signal: Annotated[str, Form(max_length=200)] = "",
    payload: Annotated[str, Form(max_length=256 * 1024)] = "",
) -> Response:
    """The event a `wait` step waits for, with its payload as JSON."""
    value = _json(payload) if payload.strip() else {}
    await executions.control.deliver(session.project_id, run_id, signal, value)
    return go(request, _url(run_id, "approved"))


@router.post("/runs/{run_id}/replay-from")
async def replay_from(
    request: Request,
    run_id: RunId,
    session: ActingDep,
    executions: ExecutionsDep,
    checkpoint_id: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A new run from a checkpoint's state (`POST /api/v1/executions/{id}/replay`)."""
    launched = await executions.restorer.replay(
        session.project_id, run_id, checkpoint_id, created_by=session.principal.key_id
    )
    return go(request, _url(launched.execution_id, "replayed-from"))


@router.post("/runs/{run_id}/rollback")
async def rollback(
    request: Request,
    run_id: RunId,
    session: ActingDep,
    executions: ExecutionsDep,
    checkpoint_id: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The same run back to a checkpoint, paused there; later state is discarded."""
    await executions.restorer.rollback(session.project_id, run_id, checkpoint_id)
    return go(request, _url(run_id, "rolled-back"))


async def _pause(executions: Executions, session: Session, run_id: str) -> str:
    await executions.control.pause(session.project_id, run_id)
    return run_id


async def _resume(executions: Executions, session: Session, run_id: str) -> str:
    await executions.control.resume(session.project_id, run_id)
    return run_id


async def _cancel(executions: Executions, session: Session, run_id: str) -> str:
    await executions.control.stop(session.project_id, run_id, force=False)
    return run_id


async def _redrive(executions: Executions, session: Session, run_id: str) -> str:
    await executions.restorer.redrive(session.project_id, run_id)
    return run_id


async def _replay(executions: Executions, session: Session, run_id: str) -> str:
    """A finished run again from the start, as a new run (`POST /v1/runs/{id}/replay`)."""
    await check_replayable(executions.restorer, session.project_id, run_id)
    launched = await executions.restorer.replay(
        session.project_id, run_id, None, created_by=session.principal.key_id
    )
    return launched.execution_id


async def _restart(executions: Executions, session: Session, run_id: str) -> str:
    """A new run of the same job from the start, with the same payload."""
    launched = await executions.restorer.restart(
        session.project_id,
        run_id,
        preset=None,
        payload=None,
        version=None,
        created_by=session.principal.key_id,
    )
    return launched.execution_id


Press = Callable[[Executions, Session, str], Awaitable[str]]
# The buttons that take nothing but the run: what each calls (answering the run to show
# next: the same one, or the new run it started), and the note the page shows after it.
BUTTONS: dict[str, tuple[Press, str]] = {
    "pause": (_pause, "paused"),
    "resume": (_resume, "resumed"),
    "cancel": (_cancel, "canceled"),
    "redrive": (_redrive, "redriven"),
    "replay": (_replay, "replayed"),
    "restart": (_restart, "restarted"),
}
Button = Literal["pause", "resume", "cancel", "redrive", "replay", "restart"]
assert set(get_args(Button)) == set(BUTTONS)


# Last: the buttons with a path of their own (approve, rollback, ...) match first.
@router.post("/runs/{run_id}/{button}")
async def press(
    request: Request, run_id: RunId, button: Button, session: ActingDep, executions: ExecutionsDep
) -> Response:
    act, done = BUTTONS[button]
    return go(request, _url(await act(executions, session, run_id), done))


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as err:
        raise ApiError(f"the payload is not valid JSON: {err}", ErrorCode.INVALID_JSON) from err
