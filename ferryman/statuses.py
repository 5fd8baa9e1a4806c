"""The status vocabulary: canonical statuses (kept in a search attribute) and surface views."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Canonical status of an execution, as the `/v1/runs` surface shows it."""

    DELAYED = "delayed"
    QUEUED = "queued"
    DEQUEUED = "dequeued"  # part of the vocabulary for compatibility; never produced
    EXECUTING = "executing"
    WAITING = "waiting"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CRASHED = "crashed"
    SYSTEM_FAILED = "system_failed"
    EXPIRED = "expired"
    DEAD_LETTER = "dead_letter"
    CANCELED = "canceled"
    TIMED_OUT = "timed_out"


class ExecutionStatus(StrEnum):
    """Status as the `/api/v1/executions` surface shows it."""

    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


FAILURE_STATUSES = frozenset(
    {Status.FAILED, Status.CRASHED, Status.SYSTEM_FAILED, Status.EXPIRED, Status.DEAD_LETTER}
)
TERMINAL_STATUSES = FAILURE_STATUSES | {Status.COMPLETED, Status.CANCELED, Status.TIMED_OUT}
OPEN_STATUSES = frozenset(Status) - TERMINAL_STATUSES

_SURFACE: dict[Status, ExecutionStatus] = {
    Status.DELAYED: ExecutionStatus.QUEUED,
    Status.QUEUED: ExecutionStatus.QUEUED,
    Status.DEQUEUED: ExecutionStatus.QUEUED,
    Status.EXECUTING: ExecutionStatus.RUNNING,
    Status.WAITING: ExecutionStatus.WAITING,
    Status.PAUSED: ExecutionStatus.PAUSED,
    Status.COMPLETED: ExecutionStatus.COMPLETED,
    Status.CANCELED: ExecutionStatus.CANCELLED,
    Status.TIMED_OUT: ExecutionStatus.TIMED_OUT,
    **dict.fromkeys(FAILURE_STATUSES, ExecutionStatus.FAILED),
}


def to_execution_status(status: Status) -> ExecutionStatus:
    return _SURFACE[status]


def canonical_statuses(surface: ExecutionStatus) -> list[Status]:
    """Every canonical status the executions surface shows as `surface`."""
    return [status for status, shown in _SURFACE.items() if shown is surface]
