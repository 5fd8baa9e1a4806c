"""The memo of an execution: its one layout, written at start and as it runs, read everywhere.

The client writes the start memo (`start`); the workflow upserts the rest (`started`,
`checkpointed`, `completed`, `failed`). Lists are built from search attributes and this
memo alone, so it also carries small summaries of the input, metadata and output: a value
over the run's summary limit (`FERRYMAN_MEMO_SUMMARY_LIMIT_BYTES`, 2 KB) of JSON is elided
(`{"_elided": true, "bytes": n}`) and read whole from history when one execution is read.
Every delta stays in history (`WorkflowPropertiesModified` events); `describe()` returns
the latest memo.

Each step with a checkpoint in force has a key of its own (`step.<id>`: its status, times,
attempts and output summary), written with its checkpoint and removed when a rollback
discards it, so one `describe()` shows every step output (seed 003's `step_outputs`) and a
checkpoint's upsert carries one step's summary, not all of them. Runs whose memo predates
these keys (`layout` below 2) have their step outputs read from history.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ferryman.workflows.checkpoints import Checkpoint

# Values above this many bytes of JSON are elided from the memo (the default of the
# `memo_summary_limit_bytes` setting, which each run carries in its input).
SUMMARY_LIMIT = 2048
# 2: each step's output summary under `step.<id>` (runs started before have no `layout`).
LAYOUT = 2
STEP_PREFIX = "step."


class Key(StrEnum):
    WORKFLOW_NAME = "workflow_name"
    VERSION = "version"
    CREATED_AT = "created_at"
    INPUT = "input"
    METADATA = "metadata"
    WAIT_SIGNALS = "wait_signals"  # signal names the definition's `wait` steps accept
    STARTED_AT = "started_at"
    CHECKPOINTS = "checkpoints"  # compact index: [[sequence, step_id, epoch_ms], ...]
    CHECKPOINT = "checkpoint"  # the latest delta; every delta stays in history
    # Since engine 2, the deltas recorded since the run last wrote its memo, in order (one
    # write per workflow task may carry several); history keeps every write.
    CHECKPOINT_DELTAS = "checkpoint_deltas"
    COMPLETED_AT = "completed_at"
    OUTPUT = "output"
    ERROR = "error"
    WAITING_ON = "waiting_on"  # in-workflow steps waiting: {step id: {kind, since, ...}}
    RUN = "run"  # what the trigger asked for: tags, idempotency key, creator, overrides...
    DEBUG_MODE = "debug_mode"  # switched while the run runs (the `debug` signal)
    TRACE = "trace"  # timings the workflow measures: queue wait, http connect/ttfb/transfer
    DEPENDENCIES_MET = "dependencies_met_at"  # when the run's dependencies all held
    USAGE = "usage"  # tokens and cost of the run's completed llm steps
    LAYOUT = "layout"  # the memo's layout version (`LAYOUT`)


def summary(value: Any, limit: int = SUMMARY_LIMIT) -> Any:
    """`value` when small enough for the memo, else a marker saying it was elided."""
    encoded = json.dumps(value, default=str)
    if len(encoded) <= limit:
        return value
    return {"_elided": True, "bytes": len(encoded)}


def is_elided(value: Any) -> bool:
    return isinstance(value, dict) and value.get("_elided") is True


def step_key(step_id: str) -> str:
    return STEP_PREFIX + step_id


def step_entry(checkpoint: Checkpoint, kind: str, limit: int) -> dict[str, Any]:
    """What the memo keeps of a step's checkpoint (the output and each detail summarised)."""
    return {
        "kind": kind,
        "status": checkpoint.step_status.value,
        "attempts": checkpoint.attempts,
        "started_at": checkpoint.delta.get("started_at"),
        "completed_at": checkpoint.delta["created_at"],
        "activity": checkpoint.delta.get("activity"),
        "output": summary(checkpoint.output, limit),
        "details": {name: summary(value, limit) for name, value in checkpoint.details.items()},
    }


def without_steps(step_ids: Iterable[str]) -> dict[str, Any]:
    """The upsert that removes these steps' keys (a rollback discarded their checkpoints)."""
    return {step_key(step_id): None for step_id in step_ids}


@dataclass(frozen=True)
class IndexEntry:
    """One checkpoint in the compact index."""

    sequence: int
    step_id: str
    created_at: datetime

    def encode(self) -> list[Any]:
        return [self.sequence, self.step_id, int(self.created_at.timestamp() * 1000)]

    @classmethod
    def decode(cls, raw: list[Any]) -> IndexEntry:
        sequence, step_id, epoch_ms = raw
        return cls(int(sequence), str(step_id), datetime.fromtimestamp(epoch_ms / 1000, UTC))


@dataclass(frozen=True)
class ErrorRecord:
    """Why an execution failed: its canonical failure status and the step at fault."""

    status: str
    cause: str | None = None
    step_id: str | None = None
    error_type: str | None = None
    attempts: int | None = None

    def encode(self) -> dict[str, Any]:
        return {
            "error": self.status,
            "error_cause": self.cause,
            "step_id": self.step_id,
            "error_type": self.error_type,
            "attempts": self.attempts,
        }

    @classmethod
    def decode(cls, raw: Mapping[str, Any]) -> ErrorRecord:
        return cls(
            status=str(raw.get("error") or "failed"),
            cause=raw.get("error_cause"),
            step_id=raw.get("step_id"),
            error_type=raw.get("error_type"),
            attempts=raw.get("attempts"),
        )


# ---- writing --------------------------------------------------------------------------


def start(
    *,
    workflow_name: str,
    version: int,
    created_at: datetime | None,
    input_data: Any,
    metadata: Any,
    wait_signals: list[str],
    index: list[IndexEntry],
    run: dict[str, Any] | None = None,
    steps: dict[str, Any] | None = None,
    limit: int = SUMMARY_LIMIT,
) -> dict[str, Any]:
    """The memo a run starts with (a restored run lists the checkpoints it keeps, and
    `steps`: their step keys)."""
    memo: dict[str, Any] = {
        Key.LAYOUT: LAYOUT,
        Key.WORKFLOW_NAME: workflow_name,
        Key.VERSION: version,
        Key.INPUT: summary(input_data, limit),
        Key.METADATA: summary(metadata, limit),
        Key.WAIT_SIGNALS: wait_signals,
        Key.CHECKPOINTS: [entry.encode() for entry in index],
        **(steps or {}),
    }
    if created_at is not None:  # a cron run's is its start time: not known in advance
        memo[Key.CREATED_AT] = created_at.isoformat()
    if run:
        memo[Key.RUN] = run
    return memo


def started(now: datetime) -> dict[str, Any]:
    return {Key.STARTED_AT: now.isoformat()}


def checkpointed(index: list[IndexEntry], delta: dict[str, Any]) -> dict[str, Any]:
    return {Key.CHECKPOINTS: [entry.encode() for entry in index], Key.CHECKPOINT: delta}


def indexed(index: list[IndexEntry]) -> dict[str, Any]:
    return {Key.CHECKPOINTS: [entry.encode() for entry in index]}


def recorded_deltas(fields: Mapping[str, Any], decode: Callable[[Any], Any]) -> list[Any]:
    """The checkpoint deltas one memo write recorded, in order: one (`checkpoint`) or, since
    engine 2, every one since the run's previous write (`checkpoint_deltas`). `fields` are
    the write's payloads, `decode` turns one into its value."""
    if Key.CHECKPOINT_DELTAS in fields:
        return list(decode(fields[Key.CHECKPOINT_DELTAS]) or [])
    if Key.CHECKPOINT in fields:
        return [decode(fields[Key.CHECKPOINT]) or {}]
    return []


def debugging(enabled: bool) -> dict[str, Any]:
    return {Key.DEBUG_MODE: enabled}


def dependencies_met(now: datetime) -> dict[str, Any]:
    return {Key.DEPENDENCIES_MET: now.isoformat()}


def used(usage: dict[str, int]) -> dict[str, Any]:
    return {Key.USAGE: dict(usage)}


def traced(trace: dict[str, float]) -> dict[str, Any]:
    return {Key.TRACE: dict(trace)}


def waiting(waiting_on: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {Key.WAITING_ON: dict(waiting_on)}


def completed(now: datetime, output: Any, limit: int = SUMMARY_LIMIT) -> dict[str, Any]:
    return {Key.COMPLETED_AT: now.isoformat(), Key.OUTPUT: summary(output, limit)}


def closed(now: datetime) -> dict[str, Any]:
    return {Key.COMPLETED_AT: now.isoformat()}


def failed(now: datetime, error: ErrorRecord) -> dict[str, Any]:
    return {Key.COMPLETED_AT: now.isoformat(), Key.ERROR: error.encode()}


# ---- reading --------------------------------------------------------------------------


@dataclass(frozen=True)
class ExecutionMemo:
    """A decoded memo; every field is optional because a run fills it as it goes."""

    workflow_name: str | None = None
    version: int | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    input: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)
    output: Any = None
    error: ErrorRecord | None = None
    wait_signals: list[str] = field(default_factory=list)
    index: list[IndexEntry] = field(default_factory=list)
    waiting_on: dict[str, dict[str, Any]] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)
    debug_mode: bool | None = None
    trace: dict[str, float] = field(default_factory=dict)
    dependencies_met_at: datetime | None = None
    usage: dict[str, int] = field(default_factory=dict)
    layout: int = 1
    # Step id -> its entry (`step_entry`), for the steps with a checkpoint in force.
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def keeps_step_outputs(self) -> bool:
        """Whether the step keys are complete (else a run's step outputs are in history)."""
        return self.layout >= LAYOUT

    @classmethod
    def decode(cls, raw: Mapping[str, Any]) -> ExecutionMemo:
        version = raw.get(Key.VERSION)
        error = raw.get(Key.ERROR)
        return cls(
            workflow_name=raw.get(Key.WORKFLOW_NAME),
            version=int(version) if version is not None else None,
            created_at=_time(raw.get(Key.CREATED_AT)),
            started_at=_time(raw.get(Key.STARTED_AT)),
            completed_at=_time(raw.get(Key.COMPLETED_AT)),
            input=raw.get(Key.INPUT),
            metadata=raw.get(Key.METADATA) or {},
            output=raw.get(Key.OUTPUT),
            error=ErrorRecord.decode(error) if isinstance(error, dict) and error else None,
            wait_signals=list(raw.get(Key.WAIT_SIGNALS) or []),
            index=[IndexEntry.decode(entry) for entry in raw.get(Key.CHECKPOINTS) or []],
            waiting_on=dict(raw.get(Key.WAITING_ON) or {}),
            run=dict(raw.get(Key.RUN) or {}),
            debug_mode=raw.get(Key.DEBUG_MODE),
            trace=dict(raw.get(Key.TRACE) or {}),
            dependencies_met_at=_time(raw.get(Key.DEPENDENCIES_MET)),
            usage=dict(raw.get(Key.USAGE) or {}),
            layout=int(raw.get(Key.LAYOUT) or 1),
            steps={
                key.removeprefix(STEP_PREFIX): dict(value)
                for key, value in raw.items()
                if key.startswith(STEP_PREFIX) and isinstance(value, Mapping)
            },
        )


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None
