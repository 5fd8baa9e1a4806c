"""Reading executions: one (one `describe()`), or a page of them (one list call).

Temporal is the only store of execution state: views are built from search attributes
and the memo; the history is read only for what it alone holds (step results, elided
values).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowHistoryEventFilterType,
)
from temporalio.service import RPCError, RPCStatusCode

from ferryman import search_attributes as sa
from ferryman.api.codes import ErrorCode
from ferryman.api.errors import InvalidInput, execution_not_found, temporal_error
from ferryman.api.executions import triage, visibility
from ferryman.api.executions.history import FoldedHistory, fold
from ferryman.api.executions.ids import is_execution_id
from ferryman.api.executions.view import ExecutionView
from ferryman.api.executions.visibility import ListFilter
from ferryman.settings import Settings
from ferryman.statuses import Status
from ferryman.workflows.memo import ErrorRecord, ExecutionMemo

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


class ExecutionReader:
    def __init__(self, client: Client, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    async def view_of(self, execution: WorkflowExecution) -> ExecutionView:
        """The view of a listed or described run, with what its attributes say of stuck."""
        view = ExecutionView.of(execution, ExecutionMemo.decode(await execution.memo()))
        return replace(view, stuck=triage.stuck_from_attributes(view))

    async def describe(self, project_id: str, execution_id: str) -> Described:
        """An execution of the caller's project; 404 for anything else."""
        if not is_execution_id(execution_id):
            raise execution_not_found()
        handle = self.client.get_workflow_handle(execution_id)
        try:
            description = await handle.describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise execution_not_found() from err
            raise temporal_error(err) from err
        if description.typed_search_attributes.get(sa.PROJECT) != project_id:
            raise execution_not_found()
        return Described(handle, description, await self.view_of(description))

    async def get(
        self, project_id: str, execution_id: str, include_steps: bool = False
    ) -> ExecutionView:
        """One execution; step results (and elided values) are folded from its history."""
        described = await self.describe(project_id, execution_id)
        view = described.view
        if view.stuck is None:
            view = replace(
                view, stuck=await triage.no_worker(self.client, self.settings, described)
            )
        if view.temporal_status == WorkflowExecutionStatus.TERMINATED:
            view = replace(view, error=await self._termination(described.handle))
        if include_steps or view.needs_history:
            view = view.with_history(await self.fold(described.handle), include_steps)
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

    async def fold(self, handle: Handle) -> FoldedHistory:
        return await fold(handle, self.client.data_converter)

    async def page(self, where: ListFilter, page: int, page_size: int) -> Page:
        """Page `page` of `page_size` rows, up to `PAGE_WINDOW` rows deep."""
        if page * page_size > visibility.PAGE_WINDOW:
            raise InvalidInput(
                f"page x page_size may not exceed {visibility.PAGE_WINDOW}; page further with "
                "the cursor (`limit` and `after`, taking `next_cursor` from each answer)",
                ErrorCode.PAGE_TOO_DEEP,
            )
        query = where.query()
        rows = await visibility.first_rows(self.client, query, page * page_size)
        views = [await self.view_of(e) for e in rows[(page - 1) * page_size :]]
        return Page(views, await visibility.count(self.client, query))

    async def after(self, where: ListFilter, limit: int, after: str | None) -> Page:
        """Up to `limit` rows after a cursor or an execution id."""
        query = where.query()
        rows = await visibility.rows_after(self.client, query, limit, after)
        views = [await self.view_of(e) for e in rows.executions]
        return Page(views, await visibility.count(self.client, query), rows.next_cursor)
