"""Reading executions: one (one `describe()`), or a page of them (one list call).

Temporal is the only store of execution state: views are built from search attributes
and the memo; the history is read only for what it alone holds (step results, elided
values).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, timedelta
from typing import Any

from cachetools import LRUCache
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowHistoryEventFilterType,
    WorkflowQueryFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from ferryman import payload_index
from ferryman import search_attributes as sa
from ferryman.api.codes import ErrorCode
from ferryman.api.errors import ApiError, execution_not_found, temporal_error
from ferryman.api.executions import decoding, triage, visibility
from ferryman.api.executions.history import FoldedHistory, StepRecord, fold
from ferryman.api.executions.ids import is_execution_id
from ferryman.api.executions.view import ExecutionView
from ferryman.api.executions.visibility import ListFilter
from ferryman.settings import Settings
from ferryman.statuses import TERMINAL_STATUSES, Status
from ferryman.workflows import models as m
from ferryman.workflows.execution import ExecutionWorkflow
from ferryman.workflows.memo import STEP_PREFIX, ErrorRecord, ExecutionMemo, is_elided

Handle = WorkflowHandle[Any, Any]


@dataclass(frozen=True)
class Described:
    """One execution of the caller's project, as `describe()` found it."""

    handle: Handle
    description: WorkflowExecutionDescription
    view: ExecutionView


@dataclass(frozen=True)
class Page:
    views: list[ExecutionView]
    total: int
    next_cursor: str | None = None


@dataclass(frozen=True)
class LiveState:
    """A run's step states: answered by its worker (`query`), or folded from its history
    when no worker answers (`history`)."""

    view: ExecutionView
    source: str
    steps: dict[str, StepRecord]
    outputs: dict[str, Any]


QUERY_TIMEOUT = timedelta(seconds=2)
FOLD_CACHE_SIZE = 256
LINEAGE_MAX = 100  # runs a lineage answer lists at most, each way


class ExecutionReader:
    def __init__(self, client: Client, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        # A history of the same length folds to the same thing: (run id, length) -> fold.
        self._folds: LRUCache[tuple[str, int], FoldedHistory] = LRUCache(FOLD_CACHE_SIZE)

    def view_of(self, execution: WorkflowExecution, row: bool = False) -> ExecutionView:
        """The view of a listed or described run, with what its attributes say of stuck. A
        list `row` leaves the step outputs unread (`outputs` None): they are most of a
        memo, and no list shows them."""
        raw = decoding.memo(execution, skip=STEP_PREFIX if row else None)
        view = ExecutionView.of(execution, ExecutionMemo.decode(raw))
        return replace(
            view,
            stuck=triage.stuck_from_attributes(view),
            outputs=None if row else view.outputs,
        )

    async def describe(self, project_id: str, execution_id: str) -> Described:
        """An execution of the caller's project; 404 for anything else."""
        if not is_execution_id(execution_id):
            raise execution_not_found()
        handle = self.client.get_workflow_handle(execution_id)
        try:
            description = await decoding.describe(self.client, execution_id)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise execution_not_found() from err
            raise temporal_error(err) from err
        if description.typed_search_attributes.get(sa.PROJECT) != project_id:
            raise execution_not_found()
        return Described(handle, description, self.view_of(description))

    async def get(
        self, project_id: str, execution_id: str, include_steps: bool = False
    ) -> ExecutionView:
        """One execution; step results (and elided values) are folded from its history."""
        described = await self.describe(project_id, execution_id)
        view = await self._enriched(described)
        if include_steps or view.needs_history:
            view = view.with_history(await self.fold_described(described), include_steps)
        return view

    async def _enriched(self, described: Described) -> ExecutionView:
        """What one describe adds to a list row's view: no worker, a terminate's reason."""
        view = described.view
        if view.stuck is None:
            view = replace(
                view, stuck=await triage.no_worker(self.client, self.settings, described)
            )
        if view.temporal_status == WorkflowExecutionStatus.TERMINATED:
            view = replace(view, error=await self._termination(described.handle))
        return view

    async def _termination(self, handle: Handle) -> ErrorRecord:
        """Why a terminated execution ended: the reason given in the Temporal UI, the CLI or
        the API's forced stop, read from its close event (the memo cannot say)."""
        reason = ""
        async for event in handle.fetch_history_events(
            event_filter_type=WorkflowHistoryEventFilterType.CLOSE_EVENT
        ):
            reason = event.workflow_execution_terminated_event_attributes.reason
        cause = f"terminated: {reason}" if reason else "terminated"
        return ErrorRecord(status=Status.CANCELED.value, cause=cause)

    async def fold(self, handle: Handle, through: int | None = None) -> FoldedHistory:
        return await fold(handle, self.client.data_converter, through)

    async def fold_described(self, described: Described) -> FoldedHistory:
        """The fold of a described run, cached by its run id and history length."""
        info = described.description.raw_description.workflow_execution_info
        key = (described.description.run_id or "", info.history_length)
        folded = self._folds.get(key)
        if folded is None:
            # The described run (not a newer one of the same id), up to what it described.
            handle = self.client.get_workflow_handle(
                described.handle.id, run_id=described.description.run_id
            )
            folded = await self.fold(handle, through=info.history_length or None)
            self._folds[key] = folded
        return folded

    async def detail(self, project_id: str, execution_id: str) -> ExecutionView:
        """One run with what only its description and history hold: the last activity
        heartbeat, the trace's history timings, elided values, step results."""
        described = await self.describe(project_id, execution_id)
        view = await self._enriched(described)
        folded = await self.fold_described(described)
        view = view.with_history(folded, include_steps=True)
        pending = described.description.raw_description.pending_activities
        beats = [
            p.last_heartbeat_time.ToDatetime(tzinfo=UTC)
            for p in pending
            if p.HasField("last_heartbeat_time")
        ]
        return replace(view, heartbeat_at=max(beats, default=None), timings=folded.timings)

    async def live_state(self, project_id: str, execution_id: str) -> LiveState:
        """Step states from the worker when one answers in time, else from the history."""
        described = await self.describe(project_id, execution_id)
        view = described.view
        if view.status not in TERMINAL_STATUSES:
            handle = self.client.get_workflow_handle_for(ExecutionWorkflow.run, view.id)
            try:
                state = await handle.query(ExecutionWorkflow.state, rpc_timeout=QUERY_TIMEOUT)
            except (RPCError, WorkflowQueryFailedError):
                pass  # no worker answers (or it is stuck): the history tells
            else:
                steps = {
                    step_id: StepRecord(
                        step_id=step_id,
                        kind=s.kind,
                        status=s.status,
                        attempts=s.attempts,
                        started_at=s.started_at,
                        completed_at=s.completed_at,
                        output=state.outputs.get(step_id),
                        error=s.error,
                    )
                    for step_id, s in state.steps.items()
                }
                return LiveState(view, "query", steps, dict(state.outputs))
        folded = await self.fold_described(described)
        outputs = {c.step_id: c.output for c in folded.log.steps(folded.steps)}
        return LiveState(view, "history", dict(folded.steps), outputs)

    async def lineage(self, project_id: str, execution_id: str) -> list[ExecutionView]:
        """The whole replay chain the run is in: its ancestors (`continuation_of`, oldest
        first), the run, and every run that continues it, depth first."""
        described = await self.describe(project_id, execution_id)
        ancestors: list[ExecutionView] = []
        source = described.view.continuation_of
        while source and len(ancestors) < LINEAGE_MAX:
            try:
                ancestor = (await self.describe(project_id, source)).view
            except ApiError:
                break  # past retention: the chain is known only from here on
            ancestors.insert(0, ancestor)
            source = ancestor.continuation_of
        descendants: list[ExecutionView] = []
        frontier = [described.view.id]
        while frontier and len(descendants) < LINEAGE_MAX:
            parent = frontier.pop(0)
            where = ListFilter(project_id, continuation_of=parent)
            page = await self.after(where, 100, None, with_total=False)
            descendants += page.views
            frontier += [view.id for view in page.views]
        return [*ancestors, described.view, *descendants[:LINEAGE_MAX]]

    async def children(self, project_id: str, execution_id: str) -> list[ExecutionView]:
        """Runs this run spawned (its `workflow` steps' child runs)."""
        described = await self.describe(project_id, execution_id)
        where = ListFilter(project_id, parent_run_id=described.view.id)
        return (await self.after(where, 100, None, with_total=False)).views

    async def counts(self, wheres: list[ListFilter]) -> list[int]:
        """How many executions each filter means (count queries, no rows read)."""
        return await visibility.count_each(self.client, wheres)

    async def count_by_status(self, where: ListFilter) -> dict[Status, int]:
        """How many executions the filter means, per status (a few queries)."""
        return await visibility.count_by_status(self.client, where)

    async def page(self, where: ListFilter, page: int, page_size: int) -> Page:
        """Page `page` of `page_size` rows, up to `PAGE_WINDOW` rows deep."""
        if page * page_size > visibility.PAGE_WINDOW:
            raise ApiError(
                f"page x page_size may not exceed {visibility.PAGE_WINDOW}; page further with "
                "the cursor (`limit` and `after`, taking `next_cursor` from each answer)",
                ErrorCode.PAGE_TOO_DEEP,
            )
        # The page and its total are separate visibility queries: ask both at once.
        rows, total = await asyncio.gather(
            visibility.first_rows(self.client, where, page * page_size),
            visibility.count(self.client, where),
        )
        return Page([self.view_of(e, row=True) for e in rows[(page - 1) * page_size :]], total)

    async def after(
        self, where: ListFilter, limit: int, after: str | None, with_total: bool = True
    ) -> Page:
        """Up to `limit` rows after a cursor (or an execution id, without a payload filter).

        A payload filter narrows the list by the payload index, then each candidate is
        confirmed against its real payload (its memo's copy, or its history's first event
        when the memo elided it): exact, at the cost of that read per candidate.
        """
        if with_total:  # the rows and the total are separate queries: ask both at once
            rows, total = await asyncio.gather(
                self._rows_after(where, limit, after), visibility.count(self.client, where)
            )
        else:
            rows = await self._rows_after(where, limit, after)
            total = len(rows.executions)
        views = [self.view_of(e, row=True) for e in rows.executions]
        return Page(views, total, rows.next_cursor)

    async def _rows_after(
        self, where: ListFilter, limit: int, after: str | None
    ) -> visibility.Rows:
        if where.payload is None:
            return await visibility.rows_after(self.client, where, limit, after)
        wanted = where.payload

        async def holds(execution: WorkflowExecution) -> bool:
            index = execution.typed_search_attributes.get(sa.PAYLOAD_INDEX)
            if not payload_index.confirmation_needed(wanted, index):
                return True  # its complete index already proves it
            return payload_index.contains(await self.payload_of(execution), wanted)

        return await visibility.confirmed_rows(self.client, where, limit, after, holds)

    async def payload_of(self, execution: WorkflowExecution) -> Any:
        """A run's input: the memo's copy, or, when elided there, its history's first event."""
        summary = ExecutionMemo.decode(decoding.memo(execution, skip=STEP_PREFIX)).input
        if not is_elided(summary):
            return summary
        handle = self.client.get_workflow_handle(execution.id, run_id=execution.run_id)
        async for event in handle.fetch_history_events(page_size=1):
            attrs = event.workflow_execution_started_event_attributes
            if attrs.input.payloads:
                params = self.client.data_converter.payload_converter.from_payload(
                    attrs.input.payloads[0], m.ExecutionInput
                )
                return params.input
            break
        return None
