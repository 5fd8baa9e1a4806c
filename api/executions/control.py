"""Controlling executions: stop, pause, resume, rollback, debug, reschedule, events.

Every control but stop is a Workflow Update (`ferryman.workflows.controls`): the run's own
validator refuses what its state does not allow, so two calls in a row never race on a
stale read, and the answer is the run's state after the change, which the very next
describe already shows. An update needs a worker: one that no worker applied within
`control_timeout_secs` is a 503, and carries that deadline so that it is refused, not
applied, if a worker takes it later.

A stop stays Temporal's own cancellation request: durable with no worker running, passed on
to activities and child runs, shown as Canceled in the Temporal UI; describe reports the
request at once (`cancel_requested`), so the next read says `canceled` too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import (
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from ferryman.api.codes import ErrorCode
from ferryman.api.errors import (
    ApiError,
    InvalidState,
    checkpoint_not_found,
    temporal_error,
)
from ferryman.api.executions.reader import Described, ExecutionReader
from ferryman.api.executions.view import ExecutionView
from ferryman.statuses import TERMINAL_STATUSES, Status
from ferryman.workflows import controls as c
from ferryman.workflows.execution import ExecutionWorkflow

LEGACY_TYPE = "ExecutionWorkflow"
# How long past its deadline the API still waits for the answer of an update a worker took
# just in time (the deadline is checked against the workflow task's start time).
ANSWER_GRACE = timedelta(seconds=2)


def closed(status: Status) -> InvalidState:
    return InvalidState("{status}; it can no longer be changed", status, ErrorCode.EXECUTION_CLOSED)


def wait_step_not_found(name: str) -> ApiError:
    return ApiError(
        f"the workflow has no wait step for the signal {name!r}", ErrorCode.WAIT_STEP_NOT_FOUND
    )


class ExecutionControl:
    def __init__(self, reader: ExecutionReader, timeout_secs: float) -> None:
        self.reader = reader
        self.timeout = timedelta(seconds=timeout_secs)

    async def stop(self, project_id: str, execution_id: str, force: bool) -> ExecutionView:
        """Cancel (steps in flight are cancelled) or, with `force`, terminate at once.
        400, not 409, for a run already finished (seed 002)."""
        described = await self.reader.describe(project_id, execution_id)
        status = described.view.status
        if status in TERMINAL_STATUSES:
            raise InvalidState(
                "{status}; it cannot be stopped", status, ErrorCode.EXECUTION_FINISHED
            )
        try:
            if force:
                await described.handle.terminate(reason="stopped with force through the API")
            else:
                await described.handle.cancel()
        except RPCError as err:
            raise _closed_or(err) from err
        return await self._read(described)

    async def pause(self, project_id: str, execution_id: str) -> ExecutionView:
        described = await self.reader.describe(project_id, execution_id)
        return await self._update(described, ExecutionWorkflow.pause, c.ControlRequest())

    async def resume(self, project_id: str, execution_id: str) -> ExecutionView:
        described = await self.reader.describe(project_id, execution_id)
        return await self._update(described, ExecutionWorkflow.resume, c.ControlRequest())

    async def rollback(self, described: Described, sequence: int) -> ExecutionView:
        """An open run back to checkpoint `sequence`, paused there (the restorer handles
        closed runs): answered once the run has discarded the later state."""
        return await self._update(
            described, ExecutionWorkflow.rollback, c.RollbackRequest(sequence=sequence)
        )

    async def deliver(
        self, project_id: str, execution_id: str, name: str, payload: Any
    ) -> ExecutionView:
        """An event for a `wait` step; buffered by the run until the step takes it."""
        described = await self.reader.describe(project_id, execution_id)
        if name not in described.view.wait_signals:
            raise wait_step_not_found(name)
        event = c.StepSignal(name=name, payload=payload)
        if described.view.workflow_type == LEGACY_TYPE:
            return await self._update(described, ExecutionWorkflow.event, event)
        # An update of the event's own name: the Temporal UI's timeline names it.
        return await self._update(described, name, event)

    async def debug(self, project_id: str, execution_id: str, enabled: bool) -> ExecutionView:
        """Events of the run's later steps carry their rendered input and output, or not."""
        described = await self.reader.describe(project_id, execution_id)
        return await self._update(
            described, ExecutionWorkflow.debug, c.DebugRequest(enabled=enabled)
        )

    async def reschedule(
        self, project_id: str, execution_id: str, scheduled_at: datetime
    ) -> ExecutionView:
        """Move a delayed run's start (409 unless it is delayed)."""
        described = await self.reader.describe(project_id, execution_id)
        if described.view.status in TERMINAL_STATUSES:
            raise _not_delayed(described.view.status)
        request = c.RescheduleRequest(scheduled_at=scheduled_at)
        return await self._update(described, ExecutionWorkflow.reschedule, request)

    async def _update(self, described: Described, update: Any, request: Any) -> ExecutionView:
        """Send a control update, refusals as the API's errors; the run as read after it."""
        status = described.view.status
        if status in TERMINAL_STATUSES:
            raise closed(status)  # no round trip to a worker for what cannot change
        request.deadline = datetime.now(UTC) + self.timeout
        try:
            await described.handle.execute_update(
                update,
                request,
                result_type=c.ControlOutcome,
                rpc_timeout=self.timeout + ANSWER_GRACE,
            )
        except WorkflowUpdateFailedError as err:
            raise _refused(err.cause, status) from err
        except WorkflowUpdateRPCTimeoutOrCancelledError as err:
            raise _no_worker(self.timeout, self.reader.settings.task_queue) from err
        except RPCError as err:
            raise _closed_or(err) from err
        return await self._read(described)

    async def _read(self, described: Described) -> ExecutionView:
        """The run as a `GET` reads it now. An update is answered once the workflow task
        that applied it is recorded, with whatever else that task did (a step that began
        after a resume), so this read is what the very next call sees."""
        return await self.reader.get(described.view.project_id, described.view.id)


def _refused(cause: BaseException | None, status: Status) -> ApiError:
    """The API's error for a validator's refusal (`controls.refuse`)."""
    if not isinstance(cause, ApplicationError):
        return ApiError(f"the run refused the change: {cause}", ErrorCode.EXECUTION_CHANGED)
    details = cause.details
    if details and isinstance(details[0], str) and details[0] in Status._value2member_map_:
        status = Status(details[0])
    match cause.type:
        case c.Refusal.CLOSED:
            return closed(status)
        case c.Refusal.PAUSED:
            return ApiError("the run is paused already", ErrorCode.EXECUTION_PAUSED)
        case c.Refusal.NOT_PAUSED:
            return InvalidState(
                "{status}; only a paused one can resume", status, ErrorCode.EXECUTION_NOT_PAUSED
            )
        case c.Refusal.NOT_DELAYED:
            return _not_delayed(status)
        case c.Refusal.NOT_STARTED:
            return InvalidState(
                "{status}; no step has run yet, so there is nothing to roll back to",
                status,
                ErrorCode.EXECUTION_NOT_STARTED,
            )
        case c.Refusal.UNKNOWN_CHECKPOINT:
            return checkpoint_not_found()
        case c.Refusal.UNKNOWN_EVENT:
            return wait_step_not_found("")
        case c.Refusal.LATE:
            return _no_worker(None, None)
    return ApiError(f"the run refused the change: {cause.message}", ErrorCode.EXECUTION_CHANGED)


def _not_delayed(status: Status) -> InvalidState:
    return InvalidState(
        "{status}; only a delayed run can be rescheduled", status, ErrorCode.RUN_NOT_DELAYED
    )


def _no_worker(timeout: timedelta | None, task_queue: str | None) -> ApiError:
    within = f" within {timeout.total_seconds():g} s" if timeout else " in time"
    queue = f" on task queue {task_queue!r}" if task_queue else ""
    return ApiError(
        f"no worker applied the change{within}, so nothing was changed; "
        f"check that a worker is running{queue} and try again",
        ErrorCode.WORKER_UNAVAILABLE,
    )


def _closed_or(err: RPCError) -> ApiError:
    """A run that closed between the read and the call answers NOT_FOUND: a 409, not a 404."""
    if err.status == RPCStatusCode.NOT_FOUND:
        return ApiError(
            "the run has just finished; it can no longer be changed", ErrorCode.EXECUTION_CLOSED
        )
    return temporal_error(err)
