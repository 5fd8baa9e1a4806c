"""The checkpoint log: pure, shared by the workflow and the API's history fold.

A checkpoint is recorded once per completed or skipped step, once at the start (`start`),
once when a run begins from another's state (`replay`, `rollback`) and once per in-place
rollback. Each is a small delta in the memo; an activity step's delta names the activity
whose result is its output instead of repeating it (the result is in history already).

The log keeps the checkpoints *in force*: a rollback to sequence N drops everything after N
(the rollback marker itself stays, so the index shows where the jump happened), and for
every sequence ever recorded, what was in force right after it. Sequence numbers only grow.
No Temporal here: the workflow feeds it as it runs, the API as it reads a history.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ferryman.statuses import StepStatus

START = "start"
ROLLBACK = "rollback"


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint: the delta as recorded, and the step's output inline."""

    delta: Mapping[str, Any]
    output: Any = None

    @property
    def sequence(self) -> int:
        return int(self.delta["sequence"])

    @property
    def step_id(self) -> str:
        return str(self.delta["step_id"])

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.delta["created_at"])

    @property
    def status(self) -> str | None:
        """`completed` or `skipped` for a step; the label (`replay`, ...) for a marker."""
        status = self.delta.get("status")
        return str(status) if status is not None else None

    @property
    def is_step(self) -> bool:
        """A step's checkpoint (completed or skipped), not a marker."""
        return self.status in (StepStatus.COMPLETED, StepStatus.SKIPPED)

    @property
    def step_status(self) -> StepStatus:
        return StepStatus.SKIPPED if self.status == StepStatus.SKIPPED else StepStatus.COMPLETED

    @property
    def attempts(self) -> int | None:
        attempts = self.delta.get("attempts")
        return int(attempts) if attempts else None

    @property
    def started_at(self) -> datetime | None:
        value = self.delta.get("started_at")
        return datetime.fromisoformat(value) if isinstance(value, str) else None

    @property
    def activity_id(self) -> str | None:
        value = self.delta.get("activity_id")
        return str(value) if value is not None else None

    @property
    def activity(self) -> str | None:
        """The type of the last activity the step ran (none for in-workflow kinds)."""
        value = self.delta.get("activity")
        return str(value) if value is not None else None

    @property
    def details(self) -> dict[str, Any]:
        value = self.delta.get("details")
        return dict(value) if isinstance(value, Mapping) else {}

    @property
    def rollback_to(self) -> int | None:
        value = self.delta.get("rollback_to")
        return int(value) if value is not None else None

    def inline(self) -> dict[str, Any]:
        """The self-contained form a restored run carries in its input."""
        return {**self.delta, "output": self.output}

    @classmethod
    def from_inline(cls, inline: Mapping[str, Any]) -> Checkpoint:
        return cls(delta=dict(inline), output=inline.get("output"))


def step_delta(
    sequence: int,
    step_id: str,
    created_at: datetime,
    *,
    status: StepStatus,
    attempts: int | None = None,
    started_at: datetime | None = None,
    activity_id: str | None = None,
    activity: str | None = None,
    output: Any = None,
    debug_input: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> Checkpoint:
    """A step's checkpoint. Completed activity steps name the attempt whose result is their
    output (`activity_id`), others inline it; `activity` is the type of the last activity
    the step ran. In debug mode the step's rendered input rides along (`input`); a kind's
    `details` (an `llm` step's model, parameters, schema) too."""
    delta: dict[str, Any] = {
        "sequence": sequence,
        "step_id": step_id,
        "created_at": created_at.isoformat(),
        "status": status.value,
    }
    if status == StepStatus.COMPLETED:
        delta["attempts"] = attempts
        delta["started_at"] = started_at.isoformat() if started_at else None
        if activity_id:
            delta["activity_id"] = activity_id
        else:
            delta["output"] = output
        if activity:
            delta["activity"] = activity
        if debug_input is not None:
            delta["input"] = debug_input
        if details:
            delta["details"] = details
    return Checkpoint(delta, output)


def marker(sequence: int, label: str, created_at: datetime, **details: Any) -> Checkpoint:
    """A checkpoint that is not a step: `start`, `replay`, `rollback` (with their details)."""
    delta: dict[str, Any] = {
        "sequence": sequence,
        "step_id": label,
        "created_at": created_at.isoformat(),
    }
    if label != START:
        delta["status"] = label
    return Checkpoint({**delta, **details})


class CheckpointLog:
    def __init__(self) -> None:
        self.in_force: list[Checkpoint] = []
        # sequence -> (that checkpoint, what was in force right after it)
        self.history: dict[int, tuple[Checkpoint, tuple[Checkpoint, ...]]] = {}
        self.next_sequence = 0

    def record(self, checkpoint: Checkpoint) -> None:
        target = checkpoint.rollback_to
        if target is not None:
            self.in_force = [c for c in self.in_force if c.sequence <= target]
        self.in_force.append(checkpoint)
        self.history[checkpoint.sequence] = (checkpoint, tuple(self.in_force))
        self.next_sequence = max(self.next_sequence, checkpoint.sequence + 1)

    def restore(self, inline: Sequence[Mapping[str, Any]], next_sequence: int) -> None:
        """Start from another run's checkpoints (their self-contained form)."""
        for entry in inline:
            self.record(Checkpoint.from_inline(entry))
        self.next_sequence = max(self.next_sequence, next_sequence)

    def roll_back(self, sequence: int, created_at: datetime) -> Checkpoint:
        """Back to checkpoint `sequence`: later ones leave the log, a marker records it."""
        checkpoint = marker(self.next_sequence, ROLLBACK, created_at, rollback_to=sequence)
        self.record(checkpoint)
        return checkpoint

    def __contains__(self, sequence: int) -> bool:
        return any(c.sequence == sequence for c in self.in_force)

    def in_force_at(self, sequence: int) -> tuple[Checkpoint, ...]:
        """What was in force right after checkpoint `sequence` (KeyError if never recorded)."""
        return self.history[sequence][1]

    def steps(self, step_ids: Collection[str], sequence: int | None = None) -> list[Checkpoint]:
        """The step checkpoints in force (now, or right after `sequence`)."""
        entries = self.in_force if sequence is None else self.in_force_at(sequence)
        return [c for c in entries if c.step_id in step_ids]

    def state_at(self, sequence: int, step_ids: Collection[str]) -> dict[str, Any]:
        """Outputs and step statuses right after checkpoint `sequence`, and the checkpoint."""
        checkpoint = self.history[sequence][0]
        steps = self.steps(step_ids, sequence)
        return {
            "outputs": {c.step_id: c.output for c in steps},
            "steps": {c.step_id: c.step_status.value for c in steps},
            "checkpoint": {k: v for k, v in checkpoint.delta.items() if k != "output"},
        }
