"""What a control asks of a run, how the run refuses it, and what it answers.

Pause, resume, rollback, debug, reschedule and events for `wait` steps are Workflow Updates:
the run's own validator refuses a change its state does not allow (the refusal is the API's
409), and the answer is the run's state after the change, already in its search attributes
and memo, so the very next describe agrees. A stop is Temporal's own cancellation request
(see `ferryman.api.executions.control`).

Every request carries the `deadline` its caller waits until: an update that no worker took
before then (none was running) is refused when one finally does, so a caller that gave up
never has its change applied behind its back.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from ferryman.statuses import Status


class Refusal(StrEnum):
    """Why a run refused a control: the type of the validator's `ApplicationError`."""

    LATE = "ControlLate"  # past the caller's deadline: it no longer waits for an answer
    CLOSED = "RunClosed"
    PAUSED = "RunPaused"
    NOT_PAUSED = "RunNotPaused"
    NOT_DELAYED = "RunNotDelayed"
    NOT_STARTED = "RunNotStarted"  # no step has run yet: nothing to roll back
    UNKNOWN_CHECKPOINT = "UnknownCheckpoint"
    UNKNOWN_EVENT = "UnknownEvent"


def refuse(refusal: Refusal, status: Status) -> ApplicationError:
    """The validator's refusal; the API reads the kind from `type` and the run's status
    from the first detail."""
    return ApplicationError(
        f"refused ({refusal.value}): the run is {status.value}",
        status.value,
        type=refusal.value,
        non_retryable=True,
    )


class ControlRequest(BaseModel):
    """Input of pause, resume and stop (signals and updates)."""

    reason: str | None = None
    deadline: datetime | None = None


class RollbackRequest(BaseModel):
    """Input of `rollback`: go back to checkpoint `sequence` and pause there."""

    sequence: int
    deadline: datetime | None = None


class DebugRequest(BaseModel):
    """Input of `debug`: events carry each step's input and output, or not."""

    enabled: bool
    deadline: datetime | None = None


class RescheduleRequest(BaseModel):
    """Input of `reschedule`: the delayed run's new start time."""

    scheduled_at: datetime
    deadline: datetime | None = None


class StepSignal(BaseModel):
    """An event for a `wait` step (human approval, webhook). As an update of a run of
    `NamedExecutionWorkflow`, the update's own name is the event's and `name` may be empty."""

    name: str = ""
    payload: Any = None
    deadline: datetime | None = None


class ControlOutcome(BaseModel):
    """What every control update answers: the run's state once the change is made."""

    status: str
    paused: bool
