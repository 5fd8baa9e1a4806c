"""Visibility queries: which executions a filter means, and pages of them.

Every query is scoped to the caller's project here, and every value in it is escaped
(`search_attributes.escape`) or validated, so no filter can widen a query beyond the
project. SQL visibility rejects ORDER BY: pages come in Temporal's list order (open
executions first, newest start first; then closed ones, newest close first).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from ferryman import payload_index
from ferryman import search_attributes as sa
from ferryman.api.codes import ErrorCode
from ferryman.api.errors import ApiError, temporal_error
from ferryman.api.executions import decoding
from ferryman.api.executions.ids import is_execution_id
from ferryman.statuses import (
    DERIVATION,
    OPEN_STATUSES,
    Status,
    derive,
    visibility_clause,
)

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
PAGE_WINDOW = 1000  # page * page_size beyond this: use the cursor
AFTER_ID_SCAN = 10 * PAGE_WINDOW  # how far `after=<execution id>` looks for the id
# How Temporal answers a page token it did not issue (the dev server: UNKNOWN).
CURSOR_REFUSALS = (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.UNKNOWN, RPCStatusCode.INTERNAL)


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
        for tag, text in sorted(self.tags.items()):
            try:
                clauses.append(sa.tag_clause(tag, text))
            except ValueError as err:
                raise ApiError(f"tags: {err}", ErrorCode.INVALID_FILTER) from err
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


def cursor_refused(err: RPCError) -> ApiError:
    """Temporal's answer to a sealed page token it no longer takes (say, its list changed
    shape across a server upgrade): a refused cursor, or Temporal's own error."""
    if err.status in CURSOR_REFUSALS:
        return ApiError(
            "not a cursor Temporal still accepts; start again without it",
            ErrorCode.INVALID_CURSOR,
        )
    return temporal_error(err)


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
    (total,) = await count_each(client, [where])
    return total


# The runs superseded in a project, as one query found them, for this long: a page asks
# twice (for its rows and for its total) and runs' readers at once share it. A rollback or
# a redrive started by this process forgets them (`forget_superseded`).
SUPERSEDED_FRESH_SECS = 0.5
_superseded_found: dict[tuple[int, str], tuple[float, asyncio.Future[list[str]]]] = {}


async def _superseded(client: Client, project_id: str) -> list[str]:
    """The run ids that a rollback or a redrive superseded lately (usually none)."""
    key = (id(client), project_id)
    now = time.monotonic()
    found = _superseded_found.get(key)
    if found is None or now - found[0] > SUPERSEDED_FRESH_SECS:
        # Past their half second, answers are only memory: keep the dict to the live ones.
        for stale in [
            k for k, (at, _) in _superseded_found.items() if now - at > SUPERSEDED_FRESH_SECS
        ]:
            del _superseded_found[stale]
        found = (now, asyncio.ensure_future(_superseded_query(client, project_id)))
        _superseded_found[key] = found
    try:
        return list(await asyncio.shield(found[1]))
    except BaseException:
        if _superseded_found.get(key) is found and found[1].done():
            del _superseded_found[key]  # a failed query is asked again, not remembered
        raise


def forget_superseded(project_id: str) -> None:
    """A run of `project_id` now supersedes another: the next read asks again."""
    for key in [key for key in _superseded_found if key[1] == project_id]:
        del _superseded_found[key]


async def _superseded_query(client: Client, project_id: str) -> list[str]:
    since = _instant(datetime.now(UTC) - SUPERSEDED_WITHIN)
    recent = (
        f"{sa.PROJECT.name} = {_escaped(project_id)} AND "
        f"{sa.SUPERSEDES.name} IS NOT NULL AND StartTime > '{since}'"
    )
    try:
        return [
            run.typed_search_attributes.get(sa.SUPERSEDES) or ""
            async for run in decoding.list_workflows(client, recent)
        ]
    except RPCError as err:
        raise temporal_error(err) from err


async def count_each(client: Client, wheres: Sequence[ListFilter]) -> list[int]:
    """`count` of each filter (all of one project), with one look for superseded runs."""
    if not wheres:
        return []
    project_id = wheres[0].project_id
    assert all(where.project_id == project_id for where in wheres), "one project"
    queries = [where.query() for where in wheres]
    superseded = await _superseded(client, project_id)
    totals = await asyncio.gather(*(_count(client, query) for query in queries))
    if not superseded:
        return list(totals)
    runs = ", ".join(_escaped(run_id) for run_id in superseded)
    stale = await asyncio.gather(
        *(_count(client, f"{query} AND RunId IN ({runs})") for query in queries)
    )
    return [total - old for total, old in zip(totals, stale, strict=True)]


SPLIT_SCAN = 1000  # rows of one Temporal status read to split it by ours; past that, counted


async def count_by_status(client: Client, where: ListFilter) -> dict[Status, int]:
    """How many executions the filter means, per status, in a few queries (no status in
    `where`): one count grouped by Temporal's status, then each Temporal status that several
    of ours share (Running, Completed, Failed) split as single reads derive them: its rows
    read when there are at most `SPLIT_SCAN`, else one count per status it may be."""
    query = where.query()
    grouped = await _grouped(client, query)
    stale = await _superseded(client, where.project_id)
    if stale:
        runs = ", ".join(_escaped(run_id) for run_id in stale)
        for name, old in (await _grouped(client, f"{query} AND RunId IN ({runs})")).items():
            grouped[name] -= old
    counts: Counter[Status] = Counter()
    for temporal, row in DERIVATION.items():
        total = grouped.get(row.visibility or "", 0) if temporal is not None else 0
        if total <= 0:
            continue
        if not row.keep:
            counts[row.default] += total
            continue
        clause = f"ExecutionStatus = '{row.visibility}'"
        if total <= SPLIT_SCAN:
            rows = await _all_rows(client, f"{query} AND {clause}", SPLIT_SCAN)
            for execution in await current_runs(client, where.project_id, rows):
                recorded = execution.typed_search_attributes.get(sa.STATUS)
                counts[derive(execution.status, recorded, False)] += 1
            continue
        # A running run records only open statuses; a closed one, what its row keeps. The
        # default is what is left of the total.
        others = sorted(
            (row.keep - {row.default})
            & (OPEN_STATUSES if temporal == WorkflowExecutionStatus.RUNNING else frozenset(Status))
        )
        each = [replace(where, statuses=frozenset({s}), clause=clause) for s in others]
        found = dict(zip(others, await count_each(client, each), strict=True))
        counts.update(found)
        counts[row.default] += total - sum(found.values())
    return {status: counts[status] for status in Status}


async def _grouped(client: Client, query: str) -> Counter[str]:
    """Counts by Temporal's execution status (`Running`, `Completed`, ...)."""
    try:
        answer = await client.count_workflows(f"{query} GROUP BY ExecutionStatus")
    except RPCError as err:
        raise temporal_error(err) from err
    grouped: Counter[str] = Counter()
    for group in answer.groups:
        grouped[str(group.group_values[0])] += group.count
    return grouped


async def _all_rows(client: Client, query: str, most: int) -> list[WorkflowExecution]:
    try:
        return [e async for e in decoding.list_workflows(client, query, page_size=most, limit=most)]
    except RPCError as err:
        raise temporal_error(err) from err


async def first_rows(client: Client, where: ListFilter, size: int) -> list[WorkflowExecution]:
    """The first `size` rows (page pagination reads up to the end of the page asked for)."""
    executions, _ = await _fetch(client, where, size, None)
    return executions


async def rows_after(client: Client, where: ListFilter, limit: int, after: str | None) -> Rows:
    """Up to `limit` rows after a cursor (`next_cursor`) or after an execution id."""
    query = where.query()
    if after is not None and not Cursor.issued(after):
        return await _rows_after_id(client, query, limit, after)
    token, _ = Cursor.read(query, after) if after else (None, 0)
    executions, next_token = await _fetch(client, where, limit, token)
    more = next_token is not None and len(executions) == limit
    return Rows(executions, Cursor.issue(query, next_token) if more and next_token else None)


Confirm = Callable[[WorkflowExecution], Awaitable[bool]]
SCAN_BUDGET = 2000  # rows a confirming scan reads per call before it answers what it has


async def confirmed_rows(
    client: Client, where: ListFilter, limit: int, after: str | None, confirm: Confirm
) -> Rows:
    """Up to `limit` rows that `confirm` accepts, after a cursor. A page is read whole, so
    the cursor may point into one (its offset)."""
    query = where.query()
    token, offset = Cursor.read(query, after) if after else (None, 0)
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
                        return Rows(found, Cursor.issue(query, token, index + 1))
                    return Rows(found, Cursor.issue(query, next_token) if next_token else None)
        scanned += len(executions) - offset
        if next_token is None:
            return Rows(found, None)
        token, offset = next_token, 0
        if scanned >= SCAN_BUDGET:  # a sparse filter: answer, the client goes on from here
            return Rows(found, Cursor.issue(query, token))


async def _fetch(
    client: Client, where: ListFilter, size: int, token: bytes | None
) -> tuple[list[WorkflowExecution], bytes | None]:
    iterator = decoding.list_workflows(client, where.query(), page_size=size, next_page_token=token)
    try:
        await iterator.fetch_next_page()
    except RPCError as err:
        raise cursor_refused(err) if token is not None else temporal_error(err) from err
    rows = one_row_each(iterator.current_page or [])
    if where.selects_by_status:
        rows = await current_runs(client, where.project_id, rows)
    return rows, iterator.next_page_token or None


async def _rows_after_id(client: Client, query: str, limit: int, after: str) -> Rows:
    """Seed 002's cursor: the id of the last row seen. Resolved by scanning the list."""
    if not is_execution_id(after):
        raise ApiError(
            "neither a cursor of this list nor an execution id", ErrorCode.INVALID_CURSOR
        )
    found = False
    rows: list[WorkflowExecution] = []
    scanned = 0
    async for execution in decoding.list_workflows(client, query, page_size=500):
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
        raise ApiError(f"{after} is not an execution in this list", ErrorCode.INVALID_CURSOR)
    return Rows(rows, None)


async def current_runs(
    client: Client, project_id: str, executions: list[WorkflowExecution]
) -> list[WorkflowExecution]:
    """Without the runs a rollback or a redrive superseded. Their execution runs again under
    the same id and the old run is deleted, but Temporal deletes asynchronously (some 30 s
    on the dev server): until then a filter the new run does not match (say, dead letters)
    would still find the old one. Only closed rows can be superseded; the project's recent
    superseding runs name them (usually none; the same query a count asks)."""
    if not any(e.close_time is not None for e in executions):
        return executions
    superseded = set(await _superseded(client, project_id))
    return [e for e in executions if e.close_time is None or e.run_id not in superseded]


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


class Cursor:
    """Where a list goes on: Temporal's page token (None: the first page) and rows of that
    page already answered, as text the client sends back (`c3.<token>.<offset>.<check>`).

    `check` is a checksum of the rest and of the query the cursor pages: a cursor altered,
    or sent with other filters or by another project, is refused here at once (422) instead
    of reaching Temporal, which answers a token it cannot read only after its client's
    retries (seconds). It is no secret, only a seal against accidents and idle tampering:
    a forged cursor still pages only the caller's own query.
    """

    PREFIX = "c3."

    @classmethod
    def issue(cls, query: str, token: bytes | None, offset: int = 0) -> str:
        body = f"{_b64(token or b'')}.{offset}"
        return f"{cls.PREFIX}{body}.{_check(query, body)}"

    @classmethod
    def read(cls, query: str, cursor: str) -> tuple[bytes | None, int]:
        """The page token and offset of a cursor issued for `query` (422 otherwise)."""
        refused = ApiError(
            "not a cursor of this list: it was altered, or issued for other filters; "
            "start again without it",
            ErrorCode.INVALID_CURSOR,
        )
        token, dot, rest = cursor.removeprefix(cls.PREFIX).partition(".")
        offset, _, check = rest.partition(".")
        body = f"{token}.{offset}"
        if (
            not cursor.startswith(cls.PREFIX)
            or not dot
            or not (offset.isascii() and offset.isdigit())
            or not hmac.compare_digest(check, _check(query, body))
        ):
            raise refused
        try:  # sealed, so only a forged cursor fails here
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except ValueError as err:
            raise refused from err
        return raw or None, int(offset)

    @classmethod
    def issued(cls, text: str) -> bool:
        """Whether `text` is meant as a cursor (rather than, say, an execution id)."""
        return text.startswith(cls.PREFIX)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _check(query: str, body: str) -> str:
    digest = hashlib.blake2b(f"{query}\0{body}".encode(), digest_size=12).digest()
    return _b64(digest)
