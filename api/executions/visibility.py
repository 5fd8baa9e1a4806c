"""Visibility queries: which executions a filter means, and pages of them.

Every query is scoped to the caller's project here, and every value in it is escaped
(`search_attributes.escape`) or validated, so no filter can widen a query beyond the
project. SQL visibility rejects ORDER BY: pages come in Temporal's list order (open
executions first, newest start first; then closed ones, newest close first).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client, WorkflowExecution
from temporalio.service import RPCError, RPCStatusCode

from ferryman import payload_index
from ferryman import search_attributes as sa
from ferryman.api.codes import ErrorCode
from ferryman.api.errors import ApiError, temporal_error
from ferryman.api.executions.ids import is_execution_id
from ferryman.statuses import Status, visibility_clause

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
PAGE_WINDOW = 1000  # page * page_size beyond this: use the cursor
AFTER_ID_SCAN = 10 * PAGE_WINDOW  # how far `after=<execution id>` looks for the id
# How Temporal answers a page token it did not issue (the dev server: UNKNOWN).
CURSOR_REFUSALS = (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.UNKNOWN, RPCStatusCode.INTERNAL)
CURSOR_PREFIX = "c1."


@dataclass(frozen=True)
class ListFilter:
    """Which executions of one project a list means."""

    project_id: str
    workflow_id: str | None = None
    statuses: frozenset[Status] | None = None
    triggered_by: str | None = None
    batch_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)  # every pair must match
    created_after: datetime | None = None
    created_before: datetime | None = None
    # Runs whose payload contains this object (jsonb `@>`): narrowed by the payload index,
    # then confirmed against each candidate's real payload (`ExecutionReader`).
    payload: dict[str, Any] | None = None
    parent_run_id: str | None = None
    continuation_of: str | None = None
    # A further clause built by the domain itself (never from user text), e.g. triage's.
    clause: str | None = None

    @property
    def selects_by_status(self) -> bool:
        """Whether a run may match while the run that superseded it does not (see
        `current_runs`): only a status filter can tell them apart."""
        return self.statuses is not None or self.clause is not None

    def query(self) -> str:
        clauses = [
            # Every ferryman execution has its project; its workflow type is its definition.
            f"{sa.PROJECT.name} = {sa.escape(self.project_id)}",
            "ExecutionStatus != 'ContinuedAsNew'",
        ]
        if self.workflow_id is not None:
            if not SLUG.match(self.workflow_id):
                raise ApiError(
                    "workflow_id must be a workflow slug (a-z, 0-9, '-', '_')",
                    ErrorCode.INVALID_FILTER,
                )
            clauses.append(f"{sa.WORKFLOW.name} = {sa.escape(self.workflow_id)}")
        if self.statuses is not None:
            clauses.append(visibility_clause(self.statuses))
        for key, value in (
            (sa.TRIGGERED_BY, self.triggered_by),
            (sa.BATCH, self.batch_id),
            (sa.PARENT, self.parent_run_id),
            (sa.CONTINUATION_OF, self.continuation_of),
        ):
            if value is not None:
                clauses.append(f"{key.name} = {_escaped(value)}")
        for tag in sa.tags_value(self.tags):
            clauses.append(f"{sa.TAGS.name} = {_escaped(tag)}")
        if self.created_after is not None:
            clauses.append(f"StartTime >= '{_instant(self.created_after)}'")
        if self.created_before is not None:
            clauses.append(f"StartTime < '{_instant(self.created_before)}'")
        if self.payload is not None:
            try:
                narrowed = payload_index.visibility_clause(self.payload)
            except ValueError as err:
                raise ApiError(f"payload: {err}", ErrorCode.INVALID_FILTER) from err
            if narrowed is not None:
                clauses.append(f"({narrowed})")
        if self.clause is not None:
            clauses.append(f"({self.clause})")
        return " AND ".join(clauses)


def _escaped(value: str) -> str:
    try:
        return sa.escape(value)
    except ValueError as err:
        raise ApiError(str(err), ErrorCode.INVALID_FILTER) from err


def _instant(moment: datetime) -> str:
    """RFC 3339 in UTC, as visibility compares datetimes."""
    if moment.tzinfo is None:
        raise ApiError(
            "a time filter needs a time zone (e.g. 2026-01-15T10:30:00Z)",
            ErrorCode.INVALID_FILTER,
        )
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Rows:
    """One page of listed runs and the cursor of the next page (None at the end)."""

    executions: list[WorkflowExecution]
    next_cursor: str | None


async def _count(client: Client, query: str) -> int:
    try:
        return (await client.count_workflows(query)).count
    except RPCError as err:
        raise temporal_error(err) from err


SUPERSEDED_WITHIN = timedelta(hours=1)  # Temporal deletes a superseded run well before this


async def count(client: Client, where: ListFilter) -> int:
    """How many executions the filter means: one per execution, also while a run that a
    rollback or a redrive superseded waits for Temporal to delete it (asynchronously)."""
    query = where.query()
    total = await _count(client, query)
    since = _instant(datetime.now(UTC) - SUPERSEDED_WITHIN)
    recent = (
        f"{sa.PROJECT.name} = {_escaped(where.project_id)} AND "
        f"{sa.SUPERSEDES.name} IS NOT NULL AND StartTime > '{since}'"
    )
    try:
        superseded = [
            run.typed_search_attributes.get(sa.SUPERSEDES) or ""
            async for run in client.list_workflows(recent)
        ]
    except RPCError as err:
        raise temporal_error(err) from err
    if not superseded:
        return total
    runs = ", ".join(_escaped(run_id) for run_id in superseded)
    return total - await _count(client, f"{query} AND RunId IN ({runs})")


async def first_rows(client: Client, where: ListFilter, size: int) -> list[WorkflowExecution]:
    """The first `size` rows (page pagination reads up to the end of the page asked for)."""
    executions, _ = await _fetch(client, where, size, None)
    return executions


async def rows_after(client: Client, where: ListFilter, limit: int, after: str | None) -> Rows:
    """Up to `limit` rows after a cursor (`next_cursor`) or after an execution id."""
    if after is not None and not after.startswith(CURSOR_PREFIX):
        return await _rows_after_id(client, where.query(), limit, after)
    token = decode_cursor(after) if after else None
    executions, next_token = await _fetch(client, where, limit, token)
    more = next_token is not None and len(executions) == limit
    return Rows(executions, encode_cursor(next_token) if more and next_token else None)


Confirm = Callable[[WorkflowExecution], Awaitable[bool]]
SCAN_BUDGET = 2000  # rows a confirming scan reads per call before it answers what it has


async def confirmed_rows(
    client: Client, where: ListFilter, limit: int, after: str | None, confirm: Confirm
) -> Rows:
    """Up to `limit` rows that `confirm` accepts, after a cursor. A page is read whole, so
    the cursor may point into one: `c2.` cursors carry the page's token and an offset."""
    token, offset = decode_position(after) if after else (None, 0)
    page_size = max(limit, 100)
    found: list[WorkflowExecution] = []
    scanned = 0
    while True:
        executions, next_token = await _fetch(client, where, page_size, token)
        for index, execution in enumerate(executions[offset:], start=offset):
            if await confirm(execution):
                found.append(execution)
                if len(found) == limit:
                    if index + 1 < len(executions):
                        return Rows(found, encode_position(token, index + 1))
                    return Rows(found, encode_position(next_token, 0) if next_token else None)
        scanned += len(executions) - offset
        if next_token is None:
            return Rows(found, None)
        token, offset = next_token, 0
        if scanned >= SCAN_BUDGET:  # a sparse filter: answer, the client goes on from here
            return Rows(found, encode_position(token, 0))


async def _fetch(
    client: Client, where: ListFilter, size: int, token: bytes | None
) -> tuple[list[WorkflowExecution], bytes | None]:
    iterator = client.list_workflows(where.query(), page_size=size, next_page_token=token)
    try:
        await iterator.fetch_next_page()
    except RPCError as err:
        if token is not None and err.status in CURSOR_REFUSALS:
            raise ApiError(
                "the cursor is not valid for this query", ErrorCode.INVALID_CURSOR
            ) from err
        raise temporal_error(err) from err
    rows = one_row_each(iterator.current_page or [])
    if where.selects_by_status:
        rows = await current_runs(client, rows)
    return rows, iterator.next_page_token or None


async def _rows_after_id(client: Client, query: str, limit: int, after: str) -> Rows:
    """Seed 002's cursor: the id of the last row seen. Resolved by scanning the list."""
    if not is_execution_id(after):
        raise ApiError("after must be a next_cursor or an execution id", ErrorCode.INVALID_CURSOR)
    found = False
    rows: list[WorkflowExecution] = []
    scanned = 0
    async for execution in client.list_workflows(query, page_size=500):
        scanned += 1
        if found:
            rows.append(execution)
            if len(rows) > limit:
                return Rows(rows[:limit], rows[limit - 1].id)
        elif execution.id == after:
            found = True
        if scanned > AFTER_ID_SCAN and not found:
            break
    if not found:
        raise ApiError(f"after={after} is not an execution in this list", ErrorCode.INVALID_CURSOR)
    return Rows(rows, None)


async def current_runs(
    client: Client, executions: list[WorkflowExecution]
) -> list[WorkflowExecution]:
    """Without the runs a rollback or a redrive superseded. Their execution runs again under
    the same id and the old run is deleted, but Temporal deletes asynchronously (some 30 s
    on the dev server): until then a filter the new run does not match (say, dead letters)
    would still find the old one. Only closed rows can be superseded; one query asks which
    of their ids have a newer run."""
    closed = [e.run_id for e in executions if e.close_time is not None and e.run_id]
    if not closed:
        return executions
    runs = ", ".join(_escaped(run_id) for run_id in closed)
    superseded: set[str] = set()
    try:
        # The runs that replaced any of these name them: usually none, so this is cheap.
        async for run in client.list_workflows(f"{sa.SUPERSEDES.name} IN ({runs})"):
            superseded.add(run.typed_search_attributes.get(sa.SUPERSEDES) or "")
    except RPCError as err:
        raise temporal_error(err) from err
    return [e for e in executions if e.run_id not in superseded]


def one_row_each(executions: Sequence[WorkflowExecution]) -> list[WorkflowExecution]:
    """One row per execution id: while a superseded run is not yet deleted, the same id is
    listed twice, the newer first (open ones lead; closed ones go newest close first)."""
    seen: set[str] = set()
    rows = []
    for execution in executions:
        if execution.id not in seen:
            seen.add(execution.id)
            rows.append(execution)
    return rows


def encode_cursor(token: bytes) -> str:
    return CURSOR_PREFIX + base64.urlsafe_b64encode(token).decode().rstrip("=")


POSITION_PREFIX = "c2."


def encode_position(token: bytes | None, offset: int) -> str:
    """A place in a list: Temporal's page token (None: the first page) and rows to skip."""
    if offset == 0 and token is not None:
        return encode_cursor(token)
    raw = json.dumps({"t": base64.b64encode(token).decode() if token else None, "o": offset})
    return POSITION_PREFIX + base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_position(cursor: str) -> tuple[bytes | None, int]:
    if cursor.startswith(CURSOR_PREFIX):
        return decode_cursor(cursor), 0
    invalid = ApiError("the cursor is not valid", ErrorCode.INVALID_CURSOR)
    if not cursor.startswith(POSITION_PREFIX):
        raise invalid
    raw = cursor.removeprefix(POSITION_PREFIX)
    try:
        decoded = json.loads(base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_"))
        token = decoded["t"]
        offset = decoded["o"]
        if not isinstance(offset, int) or offset < 0 or not isinstance(token, str | None):
            raise ValueError("not a position")
        page = base64.b64decode(token, validate=True) if token else None
        if page is not None and not isinstance(json.loads(page), dict):
            raise ValueError("not a page token")
    except (binascii.Error, ValueError, KeyError, TypeError) as err:
        raise invalid from err
    return page, offset


def decode_cursor(cursor: str) -> bytes:
    """The page token inside a cursor. Temporal's SQL visibility tokens are JSON objects;
    anything else would only earn an opaque error after the client's retries."""
    invalid = ApiError("after is not a valid cursor", ErrorCode.INVALID_CURSOR)
    if not cursor.startswith(CURSOR_PREFIX):
        raise invalid
    raw = cursor.removeprefix(CURSOR_PREFIX)
    try:
        token = base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_", validate=True)
        if not isinstance(json.loads(token), dict):
            raise ValueError("not an object")
    except (binascii.Error, ValueError) as err:
        raise invalid from err
    return token
