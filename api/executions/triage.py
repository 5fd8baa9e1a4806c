"""Triage: executions that failed or are stuck, and the actions that resolve them.

Stuck means open but not progressing: Temporal reports its workflow task failing (e.g.
non-determinism after a code change: `TemporalReportedProblems`), no worker polls its task
queue, or a step keeps failing (`STUCK_ATTEMPTS` or more). The first and the last are in
the search attributes, so lists show them; "no worker" needs a task-queue call, so only
`GET` of one execution asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from temporalio.client import Client

from ferryman import search_attributes as sa
from ferryman.api.executions.view import Action, ActionKind, ExecutionView, Stuck
from ferryman.api.executions.visibility import ListFilter
from ferryman.settings import Settings
from ferryman.statuses import FAILURE_STATUSES, TERMINAL_STATUSES, Status, visibility_clause
from ferryman.temporal import has_pollers

if TYPE_CHECKING:
    from ferryman.api.executions.reader import Described, ExecutionReader

STUCK_ATTEMPTS = 3  # a step on this attempt or later shows as stuck (step_retrying)
# Statuses in which an execution waits for a worker to pick up its next workflow task.
NEEDS_WORKER = frozenset({Status.DELAYED, Status.QUEUED, Status.DEQUEUED, Status.EXECUTING})
FAILURES_CLAUSE = (
    f"{visibility_clause(FAILURE_STATUSES)} OR (ExecutionStatus = 'Running' AND "
    f"({sa.REPORTED_PROBLEMS.name} IS NOT NULL OR {sa.ATTEMPT.name} >= {STUCK_ATTEMPTS}))"
)


@dataclass(frozen=True)
class FailureView:
    """A failed (or stuck) execution and what resolves it."""

    execution: ExecutionView
    actions: list[Action]


def _terminate(execution_id: str) -> Action:
    return Action(ActionKind.TERMINATE, execution_id, "stop the execution at once")


def stuck_from_attributes(view: ExecutionView) -> Stuck | None:
    """What the list call alone tells: Temporal's reported problems, a step's attempts."""
    if view.status in TERMINAL_STATUSES:
        return None
    if view.reported_problems:
        return Stuck(
            reason="workflow_task_failing",
            detail="Temporal reports the workflow task failing: "
            + ", ".join(view.reported_problems)
            + ". Deploy a worker with fixed code, or terminate or roll back the execution.",
            actions=[_terminate(view.id)],
        )
    attempt = view.attempt or 0
    if attempt >= STUCK_ATTEMPTS:
        retry_at = view.next_retry_at
        return Stuck(
            reason="step_retrying",
            detail=f"a step keeps failing and is on attempt {attempt}"
            + (f"; next attempt at {retry_at.isoformat()}" if retry_at else ""),
            actions=[
                Action(
                    ActionKind.PAUSE,
                    view.id,
                    "hold further attempts while the cause is fixed",
                ),
                _terminate(view.id),
            ],
        )
    return None


async def no_worker(client: Client, settings: Settings, described: Described) -> Stuck | None:
    """A workflow task waiting for long with nobody polling its task queue."""
    if described.view.status not in NEEDS_WORKER:
        return None
    description = described.description
    pending = description.raw_description.pending_workflow_task
    if not pending.HasField("scheduled_time"):
        return None
    since = pending.scheduled_time.ToDatetime(tzinfo=UTC)
    if (datetime.now(UTC) - since).total_seconds() < settings.stuck_after_secs:
        return None
    queue = description.task_queue or settings.task_queue
    if await has_pollers(client, queue):
        return None
    return Stuck(
        reason="no_worker",
        since=since,
        detail=f"no worker polls the task queue {queue!r}; start one with `ferryman worker`",
        actions=[_terminate(description.id)],
    )


def resolutions(view: ExecutionView) -> list[Action]:
    """The actions that apply to a failed or stuck execution."""
    if view.status not in FAILURE_STATUSES:
        return view.stuck.actions if view.stuck is not None else []
    actions: list[Action] = []
    last = view.checkpoints[-1].id if view.checkpoints else None
    if last:
        actions.append(
            Action(
                ActionKind.REPLAY_FROM_LAST_CHECKPOINT,
                view.id,
                "a new execution that keeps the completed steps",
                {"checkpoint_id": last},
            )
        )
        actions.append(
            Action(
                ActionKind.ROLLBACK,
                view.id,
                "go back to the last checkpoint, paused, then resume",
                {"checkpoint_id": last},
            )
        )
    actions.append(
        Action(ActionKind.REPLAY_FROM_START, view.id, "a new execution from the start, same input")
    )
    return actions


@dataclass(frozen=True)
class FailurePage:
    items: list[FailureView]
    total: int
    next_cursor: str | None


async def failures(
    reader: ExecutionReader, project_id: str, workflow_id: str | None, limit: int, after: str | None
) -> FailurePage:
    """Failed executions, and running ones Temporal or the retries flag as stuck."""
    where = ListFilter(project_id, workflow_id, clause=FAILURES_CLAUSE)
    page = await reader.after(where, limit, after)
    items = [FailureView(view, resolutions(view)) for view in page.views]
    return FailurePage(items, page.total, page.next_cursor)
