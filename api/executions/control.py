"""Controlling executions: stop, pause, resume, and events for `wait` steps.

The current state is checked first (a sentence naming the status, 409; 400 for stop, as
seed 002 documents), then a signal is sent: accepted in milliseconds even while no worker
runs. A run that closes between the check and the signal answers NOT_FOUND: that is a 409
too, never a 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio.service import RPCError, RPCStatusCode

from ferryman.api.codes import ErrorCode
from ferryman.api.errors import ApiError, Conflict, InvalidState, NotFound, temporal_error
from ferryman.api.executions.reader import Described, ExecutionReader, Handle
from ferryman.statuses import TERMINAL_STATUSES, Status
from ferryman.workflows import models as m
from ferryman.workflows.admission import RescheduleRequest
from ferryman.workflows.execution import ExecutionWorkflow

LEGACY_TYPE = "ExecutionWorkflow"


def closed(status: Status) -> InvalidState:
    return InvalidState("execution is {status}", status, ErrorCode.EXECUTION_CLOSED)


class ExecutionControl:
    def __init__(self, reader: ExecutionReader) -> None:
        self.reader = reader

    async def stop(self, project_id: str, execution_id: str, force: bool) -> Status:
        """Cancel (steps in flight are cancelled) or, with `force`, terminate at once."""
        described = await self.reader.describe(project_id, execution_id)
        status = described.view.status
        if status in TERMINAL_STATUSES:
            raise InvalidState(
                "execution is {status}; it cannot be stopped",
                status,
                ErrorCode.EXECUTION_CLOSED,
                status_code=400,
            )
        try:
            if force:
                await described.handle.terminate(reason="stopped with force through the API")
            else:
                await described.handle.cancel()
        except RPCError as err:
            raise _closed_or(err) from err
        return Status.CANCELED

    async def pause(self, project_id: str, execution_id: str) -> Status:
        described = await self._open(project_id, execution_id)
        if described.view.status == Status.PAUSED:
            raise Conflict("execution is paused already", ErrorCode.EXECUTION_PAUSED)
        await signal(described.handle, ExecutionWorkflow.pause, m.ControlRequest())
        return Status.PAUSED

    async def resume(self, project_id: str, execution_id: str) -> Status:
        described = await self._open(project_id, execution_id)
        status = described.view.status
        if status != Status.PAUSED:
            raise InvalidState(
                "execution is {status}; only a paused one can resume",
                status,
                ErrorCode.EXECUTION_NOT_PAUSED,
            )
        await signal(described.handle, ExecutionWorkflow.resume, m.ControlRequest())
        return Status.EXECUTING

    async def deliver(self, project_id: str, execution_id: str, name: str, payload: Any) -> Status:
        """An event for a `wait` step; buffered by the workflow until the step is reached."""
        described = await self.reader.describe(project_id, execution_id)
        if name not in described.view.wait_signals:
            raise NotFound(
                f"the workflow has no wait step for the signal {name!r}",
                ErrorCode.WAIT_STEP_NOT_FOUND,
            )
        status = described.view.status
        if status in TERMINAL_STATUSES:
            raise closed(status)
        if described.view.workflow_type == LEGACY_TYPE:
            # Executions started before each ran under its own type take events this way.
            event = m.StepSignal(name=name, payload=payload)
            await signal(described.handle, ExecutionWorkflow.deliver, event)
        else:
            await signal(described.handle, name, payload)
        return status

    async def debug(self, project_id: str, execution_id: str, enabled: bool) -> None:
        """Events of the run's later steps carry their rendered input and output, or not."""
        described = await self._open(project_id, execution_id)
        await signal(described.handle, ExecutionWorkflow.debug, m.DebugRequest(enabled=enabled))

    async def reschedule(self, project_id: str, execution_id: str, scheduled_at: datetime) -> None:
        """Move a delayed run's start (409 unless it is delayed). A signal, so it holds while
        no worker runs; one that lands after the run's time has come changes nothing."""
        described = await self.reader.describe(project_id, execution_id)
        status = described.view.status
        if status != Status.DELAYED:
            raise InvalidState(
                "run is {status}; only a delayed run can be rescheduled",
                status,
                ErrorCode.RUN_NOT_DELAYED,
            )
        await signal(
            described.handle,
            ExecutionWorkflow.reschedule,
            RescheduleRequest(scheduled_at=scheduled_at),
        )

    async def _open(self, project_id: str, execution_id: str) -> Described:
        described = await self.reader.describe(project_id, execution_id)
        if described.view.status in TERMINAL_STATUSES:
            raise closed(described.view.status)
        return described


async def signal(handle: Handle, method: Any, arg: Any) -> None:
    """Signal a workflow member by its typed reference."""
    try:
        await handle.signal(method, arg)
    except RPCError as err:
        raise _closed_or(err) from err


def _closed_or(err: RPCError) -> ApiError:
    """A signal to a run that closed meanwhile answers NOT_FOUND: that is a 409, not a 404."""
    if err.status == RPCStatusCode.NOT_FOUND:
        return Conflict(
            "execution has just finished; it can no longer be changed", ErrorCode.EXECUTION_CLOSED
        )
    return temporal_error(err)
