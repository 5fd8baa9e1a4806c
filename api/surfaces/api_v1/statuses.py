"""How the `/api/v1` surface (seeds 000, 002, 003) names statuses.

It shows fewer execution statuses than the canonical ones (API.md, "Statuses"): every
status before the first step is `queued`, `executing` is `running`, every failure is
`failed` (its `error` field says which), and it spells `cancelled` with two l's (execution
and step statuses alike).
"""

from __future__ import annotations

from enum import StrEnum

from ferryman.statuses import FAILURE_STATUSES, Status, StepStatus, phrase


class ExecutionStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


_SHOWN: dict[Status, ExecutionStatus] = {
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


def shown(status: Status) -> ExecutionStatus:
    return _SHOWN[status]


def status_phrase(status: Status) -> str:
    """For sentences (`InvalidState`): `the execution is paused`, spelled as this surface
    spells its statuses."""
    return phrase(status, "execution").replace("canceled", "cancelled")


def canonical(status: ExecutionStatus) -> frozenset[Status]:
    """Every canonical status this surface shows as `status`."""
    return frozenset(s for s, name in _SHOWN.items() if name is status)


def step_status(status: StepStatus) -> str:
    return "cancelled" if status == StepStatus.CANCELED else status.value
