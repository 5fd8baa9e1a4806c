"""`/ui/runs`: the list of runs (one visibility page, cursor paging, the `/v1` filters), its
live rows (server-sent events) and the bulk cancel and replay of the selected runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, Response
from sse_starlette import EventSourceResponse

from ferryman.api.codes import ErrorCode
from ferryman.api.deps import DefinitionsDep, ExecutionsDep
from ferryman.api.errors import ApiError
from ferryman.api.executions import bulk
from ferryman.api.executions.launch import TRIGGERS
from ferryman.api.executions.reader import Page
from ferryman.api.surfaces.common import SSE_PING_SECS
from ferryman.api.surfaces.dashboard import views
from ferryman.api.surfaces.dashboard.rendering import (
    DashboardRoute,
    fragment,
    is_htmx,
    page,
    sentence_of,
)
from ferryman.api.surfaces.dashboard.session import READ_RUNS, ActingDep, Session, SessionDep
from ferryman.api.surfaces.v1.params import RunQuery, run_query

router = APIRouter(route_class=DashboardRoute)
PAGE_SIZE = 50
LIVE_POLL_SECS = 2.0  # how often a list's live stream reads its page again
FIELDS = ("status", "job_id", "triggered_by", "tags", "payload", "since", "from", "to")
SINCE = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "24h": timedelta(days=1)}
SINCE |= {"7d": timedelta(days=7)}
SINCE_CHOICES = [("", "any time"), ("15m", "last 15 min"), ("1h", "last hour")]
SINCE_CHOICES += [("24h", "last day"), ("7d", "last 7 days")]

# A row whose run no longer matches the filters (its status moved on, say).
GONE = ('<span class="badge idle">↺ changed: no longer matches</span>', "")
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=4096)]


@dataclass(frozen=True)
class Filters:
    """The filter form as sent (blank fields left out), and the `/v1` query it means."""

    form: dict[str, Any]
    query: RunQuery

    @property
    def query_string(self) -> str:
        """The filters as a URL's query (blank ones left out)."""
        pairs = [(k, v) for k, v in self.form.items() if k != "status" and v]
        return urlencode(pairs + [("status", s) for s in self.form["status"]])


async def filters(request: Request) -> Filters:
    """The list filters of `/v1/runs` (`run_query`: the same checks and sentences), from a
    form whose blank fields mean "any"; a time range as `since` or `from`/`to` in UTC."""
    sent = request.query_params
    form: dict[str, Any] = {name: sent.get(name, "").strip() for name in FIELDS}
    form["status"] = [s.strip() for s in sent.getlist("status") if s.strip()]
    trigger = form["triggered_by"] or None
    if trigger is not None and trigger not in TRIGGERS:
        raise ApiError(
            f"triggered_by must be one of {', '.join(TRIGGERS)}", ErrorCode.INVALID_FILTER
        )
    query = await run_query(
        job_id=form["job_id"] or None,
        status=form["status"],
        triggered_by=trigger,  # checked above
        tags=form["tags"] or None,
        payload=form["payload"] or None,
        created_after=views.moment("from", form["from"]),
        created_before=views.moment("to", form["to"]),
    )
    if form["since"]:
        if form["since"] not in SINCE:
            raise ApiError("since must be one of 15m, 1h, 24h, 7d", ErrorCode.INVALID_FILTER)
        query = replace(query, created_after=datetime.now(UTC) - SINCE[form["since"]])
    return Filters(form, query)


@router.get("/runs")
async def list_runs(
    request: Request,
    session: SessionDep,
    executions: ExecutionsDep,
    definitions: DefinitionsDep,
    limit: Limit = PAGE_SIZE,
    cursor: Cursor = None,
) -> Response:
    session.require(READ_RUNS)
    cursor = cursor or None  # a blank one is the first page
    jobs, _ = await definitions.page(session.project_id, 1, 1000)
    context: dict[str, Any] = {
        "jobs": [job.slug for job in jobs],
        "triggers": TRIGGERS,
        "status_choices": views.STATUS_CHOICES,
        "since_choices": SINCE_CHOICES,
        "cursor": cursor,
        "rows": [],
        "next_cursor": None,
    }
    try:
        chosen = await filters(request)
    except ApiError as err:  # the form stays, with the sentence of what it refused
        message, code = sentence_of(err) or (err.message, err.code)
        sent = request.query_params
        form = {k: sent.get(k, "") for k in FIELDS} | {"status": sent.getlist("status")}
        return page(
            request,
            "runs.html",
            status_code=422,
            form=form,
            stream_query="",
            base_query="",
            error=message,
            error_code=code.value,
            **context,
        )
    where = chosen.query.where(session.principal)
    found = await executions.reader.after(where, limit, cursor, with_total=False)
    base = chosen.query_string
    return page(
        request,
        "runs.html",
        form=chosen.form,
        base_query=base,
        stream_query="&".join(
            filter(None, [base, urlencode({"cursor": cursor}) if cursor else ""])
        ),
        **{
            **context,
            "rows": [views.RunRow.of(v) for v in found.views],
            "next_cursor": found.next_cursor,
        },
    )


@router.get("/runs/stream")
async def stream_runs(
    request: Request,
    session: SessionDep,
    executions: ExecutionsDep,
    limit: Limit = PAGE_SIZE,
    cursor: Cursor = None,
) -> EventSourceResponse:
    """The page's rows as they change: `s-<id>` (status) and `d-<id>` (duration) events,
    and `fresh` when runs newer than the page's first one appear."""
    session.require(READ_RUNS)
    where = (await filters(request)).query.where(session.principal)
    read = partial(executions.reader.after, where, limit, cursor or None, with_total=False)
    first = await read()  # read before the stream starts: a refusal is a page, not a cut
    return EventSourceResponse(_row_updates(read, first), ping=SSE_PING_SECS)


async def _row_updates(
    read: Callable[[], Awaitable[Page]], found: Page
) -> AsyncIterator[dict[str, str]]:
    sent: dict[str, tuple[str, str]] = {}
    first_ids = {view.id for view in found.views}
    told = 0  # newer runs the page was told of
    while True:
        ids = {view.id for view in found.views}
        for view in found.views:
            row = views.RunRow.of(view)
            cells = (
                fragment("_badge.html", status=row.status),
                views.duration(row.started_at, row.finished_at),
            )
            if sent.get(row.id) != cells:
                sent[row.id] = cells
                yield {"event": f"s-{row.id}", "data": cells[0]}
                yield {"event": f"d-{row.id}", "data": cells[1]}
        for gone in first_ids - ids:  # it changed so that the filters no longer find it
            if sent.get(gone) != GONE:
                sent[gone] = GONE
                yield {"event": f"s-{gone}", "data": GONE[0]}
        newer = len(ids - first_ids)
        if newer != told:
            told = newer
            yield {"event": "fresh", "data": fragment("_fresh.html", count=newer)}
        await asyncio.sleep(LIVE_POLL_SECS)
        found = await read()


@router.post("/runs/bulk")
async def bulk_action(
    request: Request,
    session: ActingDep,
    executions: ExecutionsDep,
    action: Annotated[str, Form(max_length=20)] = "",
    run_id: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies a form default)
) -> Response:
    """Cancel or replay the selected runs (each one as its own call would)."""
    if not run_id:
        raise ApiError("select at least one run first", ErrorCode.VALIDATION_ERROR)
    project_id = session.project_id
    if action == "cancel":
        outcomes = await bulk.cancel(executions.control, project_id, run_id)
        done = [o for o in outcomes if o.error is None]
        refused = [o for o in outcomes if o.error is not None]
        context = {"summary": f"Canceled {len(done)} of {len(outcomes)} runs.", "refused": refused}
    elif action == "replay":
        launched = await bulk.replay(
            executions.restorer, project_id, run_id, session.principal.key_id
        )
        started = [run.execution_id for run in launched]
        context = {
            "summary": f"Replayed {len(started)} runs, each as a new run.",
            "started": started,
        }
    else:
        raise ApiError("action must be cancel or replay", ErrorCode.VALIDATION_ERROR)
    return bulk_result(request, session, context)


def bulk_result(request: Request, session: Session, context: dict[str, Any]) -> Response:
    """What a bulk action did: in the flash area, or as a page of its own."""
    if is_htmx(request):
        html = fragment("_bulk_result.html", **context)
        return Response(
            html,
            media_type="text/html",
            headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML show:top"},
        )
    return page(request, "bulk_result.html", session=session, **context)
