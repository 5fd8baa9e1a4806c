"""Fold a Temporal history into what an execution did, step by step.

The history alone is enough (no worker, no query): the start event carries the definition
snapshot, activity events carry attempts and results, and each checkpoint is a memo delta
recorded as a `WorkflowPropertiesModified` event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.converter import DataConverter

from ferryman.workflows import models as m


@dataclass
class StepRecord:
    step_id: str
    kind: str
    status: str = "pending"
    attempts: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    output: Any = None
    error: str | None = None
    activity: str | None = None


@dataclass
class FoldedHistory:
    params: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, StepRecord] = field(default_factory=dict)
    # The checkpoint log in force (a rollback truncates it), outputs inline.
    effective: list[dict[str, Any]] = field(default_factory=list)
    # Every checkpoint ever recorded, by sequence: the delta and the log in force after it.
    snapshots: dict[int, tuple[dict[str, Any], list[dict[str, Any]]]] = field(default_factory=dict)
    result: Any = None
    failure: str | None = None

    def state_at(self, sequence: int) -> dict[str, Any]:
        """The whole state at checkpoint `sequence`: input, outputs and step statuses."""
        delta, log = self.snapshots[sequence]
        return {
            "input": self.params.get("input"),
            "outputs": {d["step_id"]: d.get("output") for d in log if d["step_id"] in self.steps},
            "steps": {
                d["step_id"]: d.get("status", "completed")
                for d in log
                if d["step_id"] in self.steps
            },
            "checkpoint": {k: v for k, v in delta.items() if k != "output"},
        }


class HistoryFolder:
    """Consumes events in order; `folded` is the state after the last one."""

    def __init__(self, converter: DataConverter) -> None:
        self.converter = converter
        self.folded = FoldedHistory()
        self._scheduled: dict[int, tuple[str, str]] = {}  # event id -> (activity id, step)
        self._activity_results: dict[str, Any] = {}

    def _decode(self, payload: Payload) -> Any:
        return self.converter.payload_converter.from_payload(payload)

    def add(self, event: HistoryEvent) -> None:
        handler = _HANDLERS.get(event.event_type)
        if handler is not None:
            handler(self, event)

    def _started(self, event: HistoryEvent) -> None:
        attrs = event.workflow_execution_started_event_attributes
        if attrs.input.payloads:
            self.folded.params = self._decode(attrs.input.payloads[0]) or {}
        definition = self.folded.params.get("definition", {})
        for step in definition.get("steps", []):
            self.folded.steps[step["id"]] = StepRecord(step_id=step["id"], kind=step["kind"])
        for delta in (self.folded.params.get("restored") or {}).get("deltas", []):
            self._checkpoint(delta)

    def _scheduled_activity(self, event: HistoryEvent) -> None:
        attrs = event.activity_task_scheduled_event_attributes
        parsed = m.parse_activity_id(attrs.activity_id)
        record = self.folded.steps.get(parsed[0]) if parsed else None
        if parsed is None or record is None:
            return
        self._scheduled[event.event_id] = (attrs.activity_id, parsed[0])
        record.attempts = parsed[1]
        record.status = "running"
        record.activity = attrs.activity_type.name
        record.started_at = record.started_at or event.event_time.ToDatetime(tzinfo=UTC)

    def _completed_activity(self, event: HistoryEvent) -> None:
        attrs = event.activity_task_completed_event_attributes
        scheduled = self._scheduled.get(attrs.scheduled_event_id)
        if scheduled and attrs.result.payloads:
            self._activity_results[scheduled[0]] = self._decode(attrs.result.payloads[0])

    def _failed_activity(self, event: HistoryEvent) -> None:
        attrs = event.activity_task_failed_event_attributes
        self._attempt_failed(attrs.scheduled_event_id, attrs.failure.message)

    def _timed_out_activity(self, event: HistoryEvent) -> None:
        attrs = event.activity_task_timed_out_event_attributes
        self._attempt_failed(attrs.scheduled_event_id, attrs.failure.message or "timed out")

    def _attempt_failed(self, scheduled_event_id: int, message: str) -> None:
        scheduled = self._scheduled.get(scheduled_event_id)
        if scheduled is None:
            return
        record = self.folded.steps[scheduled[1]]
        record.status = "retrying"
        record.error = message

    def _memo(self, event: HistoryEvent) -> None:
        fields = event.workflow_properties_modified_event_attributes.upserted_memo.fields
        if m.MEMO_CHECKPOINT in fields:
            self._checkpoint(self._decode(fields[m.MEMO_CHECKPOINT]))
        if m.MEMO_ERROR in fields:
            error = self._decode(fields[m.MEMO_ERROR]) or {}
            record = self.folded.steps.get(str(error.get("step_id")))
            if record is not None:
                record.status = "failed"
                record.error = error.get("error_cause")

    def _checkpoint(self, delta: dict[str, Any]) -> None:
        delta = dict(delta)
        if "activity_id" in delta:
            delta["output"] = self._activity_results.get(str(delta["activity_id"]))
        folded = self.folded
        if "rollback_to" in delta:
            folded.effective = [
                d for d in folded.effective if int(d["sequence"]) <= int(delta["rollback_to"])
            ]
            self._reset_steps()
        else:
            folded.effective = [*folded.effective, delta]
            self._apply(delta)
        folded.snapshots[int(delta["sequence"])] = (delta, folded.effective)

    def _reset_steps(self) -> None:
        for step_id, record in self.folded.steps.items():
            self.folded.steps[step_id] = StepRecord(step_id=step_id, kind=record.kind)
        for delta in self.folded.effective:
            self._apply(delta)

    def _apply(self, delta: dict[str, Any]) -> None:
        record = self.folded.steps.get(str(delta.get("step_id")))
        if record is None:
            return
        record.status = str(delta.get("status", "completed"))
        record.completed_at = _parse(delta.get("created_at"))
        record.started_at = _parse(delta.get("started_at")) or record.started_at
        record.attempts = int(delta.get("attempts") or record.attempts)
        record.error = None
        record.output = delta.get("output")

    def _workflow_completed(self, event: HistoryEvent) -> None:
        attrs = event.workflow_execution_completed_event_attributes
        if attrs.result.payloads:
            result = self._decode(attrs.result.payloads[0]) or {}
            self.folded.result = result.get("output") if isinstance(result, dict) else result

    def _workflow_failed(self, event: HistoryEvent) -> None:
        self.folded.failure = event.workflow_execution_failed_event_attributes.failure.message

    def _workflow_cancelled(self, event: HistoryEvent) -> None:
        for record in self.folded.steps.values():
            if record.status in ("running", "retrying"):
                record.status = "cancelled"


_HANDLERS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: HistoryFolder._started,
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: HistoryFolder._scheduled_activity,
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: HistoryFolder._completed_activity,
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: HistoryFolder._failed_activity,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: HistoryFolder._timed_out_activity,
    EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED: HistoryFolder._memo,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: HistoryFolder._workflow_completed,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: HistoryFolder._workflow_failed,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: HistoryFolder._workflow_cancelled,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: HistoryFolder._workflow_cancelled,
}


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None
