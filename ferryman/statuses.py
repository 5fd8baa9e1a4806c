"""The status vocabulary: canonical execution statuses, step statuses, and how they are derived.

The canonical status is kept in the `FerrymanStatus` search attribute; each HTTP surface
owns its own projection of it (`ferryman.api.surfaces.<surface>.statuses`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from temporalio.client import WorkflowExecutionStatus

from ferryman.search_attributes import STATUS


class Status(StrEnum):
    """Canonical status of an execution, as the `/v1/runs` surface shows it."""

    DELAYED = "delayed"
    QUEUED = "queued"
    DEQUEUED = "dequeued"  # a worker picked the run up, no step has started
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


FAILURE_STATUSES = frozenset(
    {Status.FAILED, Status.CRASHED, Status.SYSTEM_FAILED, Status.EXPIRED, Status.DEAD_LETTER}
)
TERMINAL_STATUSES = FAILURE_STATUSES | {Status.COMPLETED, Status.CANCELED, Status.TIMED_OUT}
OPEN_STATUSES = frozenset(Status) - TERMINAL_STATUSES


class Condition(StrEnum):
    """A job dependency's condition: what the latest run of the job depended on must have
    done (`ferryman.api.executions.dependencies` says which statuses meet each)."""

    COMPLETED = "completed"
    FAILED = "failed"
    FINISHED = "finished"  # ended, either way


class StepStatus(StrEnum):
    """The one vocabulary for the status of a step, wherever a step's status is shown."""

    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    RETRYING = "retrying"
    COMPLETED = "completed"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELED = "canceled"


# Each status said as English, after "the run" (or "the execution"): for error sentences.
_PHRASES: dict[Status, str] = {
    Status.DELAYED: "is delayed until its scheduled time",
    Status.QUEUED: "is queued",
    Status.DEQUEUED: "is about to start its first step",
    Status.EXECUTING: "is running",
    Status.WAITING: "is waiting",
    Status.PAUSED: "is paused",
    Status.COMPLETED: "has completed",
    Status.FAILED: "has failed",
    Status.CRASHED: "has crashed (its worker was lost)",
    Status.SYSTEM_FAILED: "has failed on an engine error",
    Status.EXPIRED: "expired before it could start",
    Status.DEAD_LETTER: "is in the dead letter queue",
    Status.CANCELED: "was canceled",
    Status.TIMED_OUT: "timed out",
}


def phrase(status: Status, noun: str = "run") -> str:
    """`the run is in the dead letter queue`: a status as a sentence's opening."""
    return f"the {noun} {_PHRASES[status]}"


# A step in one of these lets the steps that depend on it run.
DONE_STEP_STATUSES = frozenset({StepStatus.COMPLETED, StepStatus.SKIPPED})


# ---- derivation ----------------------------------------------------------------------------
#
# The canonical status is derived from two inputs: Temporal's own execution status and our
# `FerrymanStatus` attribute (missing, a Status value, or garbage). The attribute can be stale:
# a run terminated from the Temporal UI, or timed out by Temporal, never wrote its last status.
# So per Temporal status, one row says which recorded values are believed (KEEP) and what the
# run is otherwise (DEFAULT). `derive` reads single runs with it and `visibility_clause`
# compiles list filters from it, so the two cannot disagree.


@dataclass(frozen=True)
class Derivation:
    """How one Temporal execution status combines with the recorded attribute."""

    keep: frozenset[Status]  # recorded values believed as they are
    default: Status  # the status when the attribute is missing or not in `keep`
    visibility: str | None  # the `ExecutionStatus` value SQL visibility filters on


_ANY = frozenset(Status)

DERIVATION: dict[WorkflowExecutionStatus | None, Derivation] = {
    # Open: the workflow keeps the attribute current; none yet means no worker picked it up.
    WorkflowExecutionStatus.RUNNING: Derivation(
        keep=_ANY, default=Status.QUEUED, visibility="Running"
    ),
    # A stop requested by signal completes the run, recording `canceled`; anything else
    # recorded on a completed run is stale.
    WorkflowExecutionStatus.COMPLETED: Derivation(
        keep=frozenset({Status.COMPLETED, Status.CANCELED}),
        default=Status.COMPLETED,
        visibility="Completed",
    ),
    # A failed run keeps the kind of failure it recorded, if it recorded one.
    WorkflowExecutionStatus.FAILED: Derivation(
        keep=FAILURE_STATUSES, default=Status.FAILED, visibility="Failed"
    ),
    # Closed by Temporal itself: whatever the workflow recorded is stale.
    WorkflowExecutionStatus.TIMED_OUT: Derivation(
        keep=frozenset(), default=Status.TIMED_OUT, visibility="TimedOut"
    ),
    WorkflowExecutionStatus.CANCELED: Derivation(
        keep=frozenset(), default=Status.CANCELED, visibility="Canceled"
    ),
    WorkflowExecutionStatus.TERMINATED: Derivation(
        keep=frozenset(), default=Status.CANCELED, visibility="Terminated"
    ),
    # The run lives on in its successor (list queries exclude these rows anyway).
    WorkflowExecutionStatus.CONTINUED_AS_NEW: Derivation(
        keep=_ANY, default=Status.EXECUTING, visibility="ContinuedAsNew"
    ),
    # Not known: read like RUNNING. No stored run lacks a Temporal status, so no clause needs it.
    None: Derivation(keep=_ANY, default=Status.QUEUED, visibility=None),
}


def derive(
    temporal: WorkflowExecutionStatus | None, attribute: str | None, cancel_requested: bool = False
) -> Status:
    """The true canonical status of a run: the recorded attribute if its row keeps it.

    An open run that Temporal holds a cancellation request for (a stop, which the workflow
    always obeys) is `canceled` from the moment the request is recorded: only describe
    knows that (`cancel_requested`), so a single run's read agrees with the stop at once
    while list filters, compiled from the table alone, follow when the run closes.
    A Temporal status this table does not know (a newer SDK) reads like RUNNING rather than
    failing a read; tests/ferryman/test_statuses.py fails first if the table misses one.
    """
    if cancel_requested and temporal == WorkflowExecutionStatus.RUNNING:
        return Status.CANCELED
    row = DERIVATION.get(temporal, DERIVATION[None])
    if attribute is not None and attribute in row.keep:
        return Status(attribute)
    return row.default


def _values(statuses: Iterable[Status]) -> str:
    return ", ".join(f"'{status.value}'" for status in sorted(statuses))


def visibility_clause(statuses: Iterable[Status]) -> str:
    """A SQL-visibility filter matching exactly the runs whose `derive(...)` is in `statuses`.

    Compiled row by row from DERIVATION, so lists agree with what a single run reads. A row
    whose DEFAULT is wanted must also match runs without the attribute: SQL visibility keeps
    a missing keyword as NULL, and `NULL NOT IN (...)` is not true, hence the explicit
    `IS NULL` (checked against the dev server's SQLite visibility by
    tests/ferryman/test_statuses.py).
    The clause is parenthesized, ready to be ANDed with others. An empty set of statuses
    gives a valid clause that matches no run (the empty union), not a ValueError.
    """
    wanted = frozenset(Status(status) for status in statuses)
    attribute = STATUS.name
    # condition on the attribute ("" when any value matches) -> the Temporal statuses it is for
    conditions: dict[str, list[str]] = {}
    for row in DERIVATION.values():
        if row.visibility is None:
            continue  # every stored run has a Temporal status
        if row.default in wanted:
            # Matches unless the attribute holds a kept value that is not wanted.
            refused = row.keep - wanted
            condition = (
                f"({attribute} IS NULL OR {attribute} NOT IN ({_values(refused)}))"
                if refused
                else ""
            )
        elif row.keep & wanted:
            condition = f"{attribute} IN ({_values(row.keep & wanted)})"
        else:
            continue
        conditions.setdefault(condition, []).append(row.visibility)
    if not conditions:
        # `FerrymanStatus IN ()` is a syntax error; this is a valid query that matches nothing.
        return "(ExecutionStatus = 'Running' AND ExecutionStatus != 'Running')"
    parts = []
    for condition, names in conditions.items():
        quoted = ", ".join(f"'{name}'" for name in names)
        execution = (
            f"ExecutionStatus = {quoted}" if len(names) == 1 else f"ExecutionStatus IN ({quoted})"
        )
        parts.append(f"({execution} AND {condition})" if condition else execution)
    return f"({' OR '.join(parts)})"
