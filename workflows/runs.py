"""How a run starts: its search attributes, its start memo and its task priority.

Built here once for every way a run begins: a trigger through the API, a restore (replay,
rollback, redrive), a cron schedule's action and a parent's `workflow` step (which runs in
workflow code, so everything here is deterministic and free of I/O).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from temporalio.common import Priority, SearchAttributePair, TypedSearchAttributes

from ferryman import payload_index
from ferryman import search_attributes as sa
from ferryman.statuses import Status
from ferryman.workflows import memo
from ferryman.workflows import models as m
from ferryman.workflows.checkpoints import Checkpoint


@dataclass(frozen=True)
class RunStart:
    """What a run's start says besides its input (`ExecutionInput`, whose `run` settings
    hold its priority, tags, batch, schedule, slot and parent)."""

    triggered_by: str = "manual"
    # The status lists show before a worker picks the run up (see `initial_status`).
    status: Status = Status.QUEUED
    # None for a cron run: one schedule action serves every firing, so each run's creation
    # is its own start time.
    created_at: datetime | None = None
    lineage_depth: int = 0
    continuation_of: str | None = None
    # The closed run a rollback or a redrive replaces under the same id.
    supersedes: str | None = None
    # The memo's `run`: what the trigger asked for, and the run-level settings in force.
    record: dict[str, Any] | None = None


def initial_status(params: m.ExecutionInput, now: datetime) -> Status:
    """`paused` for a run restored paused, `delayed` for a new run scheduled later, else
    `queued`: what the run shows until its worker says more."""
    if params.restored is not None:
        return Status.PAUSED if params.restored.paused else Status.QUEUED
    scheduled_at = params.run.scheduled_at if params.run else None
    return Status.DELAYED if scheduled_at is not None and scheduled_at > now else Status.QUEUED


def task_priority(priority: int) -> Priority:
    """A run's priority (higher is more urgent, default 0) as Temporal's task priority key
    (1 to 5, lower first; 3 is Temporal's default): workers poll urgent tasks first."""
    if priority >= 10:
        key = 1
    elif priority > 0:
        key = 2
    elif priority == 0:
        key = 3
    elif priority > -10:
        key = 4
    else:
        key = 5
    return Priority(priority_key=key)


def search_attributes(params: m.ExecutionInput, start: RunStart) -> TypedSearchAttributes:
    settings = params.run or m.RunSettings()
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(sa.STATUS, start.status.value),
        SearchAttributePair(sa.PROJECT, params.project_id),
        SearchAttributePair(sa.WORKFLOW, params.workflow_id),
        SearchAttributePair(sa.VERSION, str(params.version)),
        SearchAttributePair(sa.TRIGGERED_BY, start.triggered_by),
        SearchAttributePair(sa.LINEAGE_DEPTH, start.lineage_depth),
        SearchAttributePair(sa.PAYLOAD_INDEX, payload_index.index_tokens(params.input)),
        SearchAttributePair(sa.PRIORITY, settings.priority),
    ]
    optional: list[tuple[Any, Any]] = [
        (sa.CONTINUATION_OF, start.continuation_of),
        (sa.SUPERSEDES, start.supersedes),
        (sa.TAGS, sa.tag_tokens(settings.tags) if settings.tags else None),
        (sa.BATCH, settings.batch_id),
        (sa.PARENT, settings.parent_run_id),
        (sa.CONCURRENCY_KEY, settings.concurrency.key if settings.concurrency else None),
        (sa.SCHEDULED_AT, settings.scheduled_at),
        (sa.EXPIRES_AT, settings.expires_at),
    ]
    pairs += [SearchAttributePair(key, value) for key, value in optional if value]
    return TypedSearchAttributes(pairs)


def start_memo(params: m.ExecutionInput, start: RunStart) -> dict[str, Any]:
    """The memo the run starts with; a restored run lists the checkpoints it keeps."""
    kept = [Checkpoint.from_inline(d) for d in (params.restored.deltas if params.restored else [])]
    record = dict(start.record or {})
    settings = params.run
    if settings is not None:
        if settings.workflow_step_run_id:
            record["workflow_step_run_id"] = settings.workflow_step_run_id
        if settings.concurrency is not None:
            record["concurrency_limit"] = settings.concurrency.limit
        if settings.dependencies:
            record["dependencies"] = [d.model_dump(mode="json") for d in settings.dependencies]
    kinds = {step.id: step.kind for step in params.definition.steps}
    limit = params.memo_summary_limit_bytes
    return memo.start(
        workflow_name=params.workflow_name,
        version=params.version,
        created_at=start.created_at,
        input_data=params.input,
        metadata=params.metadata,
        wait_signals=sorted(params.definition.wait_signals()),
        index=[memo.IndexEntry(c.sequence, c.step_id, c.created_at) for c in kept],
        run=record or None,
        steps={
            memo.step_key(c.step_id): memo.step_entry(c, kinds[c.step_id], limit)
            for c in kept
            if c.is_step and c.step_id in kinds
        },
        limit=limit,
    )


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def run_id(epoch_ms: int, random_bits: int) -> str:
    """`exec_` + a ULID: 48 bits of milliseconds then 80 random bits, so ids sort by time.
    The API draws the bits from `secrets`; workflow code from `workflow.random()`."""
    value = (epoch_ms & (2**48 - 1)) << 80 | (random_bits & (2**80 - 1))
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "exec_" + "".join(reversed(chars))
