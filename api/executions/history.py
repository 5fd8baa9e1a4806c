"""Fold a Temporal history into what an execution did, step by step.

The history alone is enough (no worker, no query): the start event carries the definition
snapshot, activity events carry attempts and results, and each checkpoint is a memo delta
recorded as a `WorkflowPropertiesModified` event, folded by the same checkpoint log the
workflow keeps (`ferryman.workflows.checkpoints`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHandle
from temporalio.converter import DataConverter

from ferryman.api.executions.ai import AiActivity, AiFolder, AiRecords, step_of
from ferryman.statuses import StepStatus
from ferryman.workflows import models as m
from ferryman.workflows.checkpoints import Checkpoint, CheckpointLog
from ferryman.workflows.memo import ErrorRecord, Key, recorded_deltas


@dataclass
class StepRecord:
    step_id: str
    kind: str
    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    output: Any = None
    error: str | None = None
    activity: str | None = None
    # What the step's last attempt got: its rendered parameters (activity kinds; secrets
    # still as placeholders, resolved only inside the activity).
    input: Any = None
    # What the kind noted beside the output (an `llm` step's model and prompt parameters),
    # and the model version its provider answered with.
    details: dict[str, Any] = field(default_factory=dict)

    def apply(self, checkpoint: Checkpoint) -> None:
        """The step as its checkpoint says."""
        self.details = {**self.details, **checkpoint.details}
        self.status = checkpoint.step_status
        self.completed_at = checkpoint.created_at
        self.started_at = checkpoint.started_at or self.started_at
        self.attempts = checkpoint.attempts or self.attempts
        self.activity = checkpoint.activity or self.activity
        self.error = None
        self.output = checkpoint.output


@dataclass
class Timings:
    """What the history alone can time: the first workflow task and each activity's
    schedule-to-start (the execution trace's `dequeue_ms` and `dispatch_ms`)."""

    created: datetime | None = None
    first_task_started: datetime | None = None
    first_task_completed: datetime | None = None
    dispatch_ms: float = 0.0

    @property
    def queue_wait_ms(self) -> float | None:
        return _ms(self.created, self.first_task_started)

    @property
    def dequeue_ms(self) -> float | None:
        return _ms(self.first_task_started, self.first_task_completed)


def _ms(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() * 1000, 3)


@dataclass
class FoldedHistory:
    params: m.ExecutionInput | None = None
    steps: dict[str, StepRecord] = field(default_factory=dict)
    log: CheckpointLog = field(default_factory=CheckpointLog)
    result: Any = None
    failure: str | None = None
    timings: Timings = field(default_factory=Timings)
    ai: AiRecords = field(default_factory=AiRecords)

    def state_at(self, sequence: int) -> dict[str, Any]:
        """The whole state at checkpoint `sequence`: input, outputs and step statuses."""
        return {
            "input": self.params.input if self.params else None,
            **self.log.state_at(sequence, self.steps),
        }

    def restored(self, label: str, source: str, sequence: int) -> m.RestoredState:
        """Where a new run starts to continue from checkpoint `sequence` (KeyError if none)."""
        return m.RestoredState(
            label=label,
            source_execution_id=source,
            source_sequence=sequence,
            deltas=[c.inline() for c in self.log.in_force_at(sequence)],
            next_sequence=sequence + 1,
        )


# The marker a local activity leaves when it ends (Temporal's SDK core names it so).
LOCAL_ACTIVITY_MARKER = "core_local_activity"


@dataclass(frozen=True)
class LocalAttempt:
    """One step attempt that ran as a local activity, as its marker records it: no
    scheduled, started or completed events, only this, once the attempt has ended."""

    activity_id: str
    activity_type: str
    scheduled_at: datetime | None
    completed_at: datetime
    result: Any
    failure: str | None  # the error's message when it failed
    retryable: bool

    @classmethod
    def of(cls, event: HistoryEvent, converter: DataConverter) -> LocalAttempt | None:
        attrs = event.marker_recorded_event_attributes
        if attrs.marker_name != LOCAL_ACTIVITY_MARKER or "data" not in attrs.details:
            return None
        decode = converter.payload_converter.from_payload
        data = decode(attrs.details["data"].payloads[0]) or {}
        result = attrs.details.get("result")
        failed = attrs.HasField("failure")
        scheduled = data.get("original_schedule_time")
        return cls(
            activity_id=str(data.get("activity_id", "")),
            activity_type=str(data.get("activity_type", "")),
            scheduled_at=_moment(scheduled) if scheduled else None,
            completed_at=_time(event),
            result=decode(result.payloads[0]) if result and result.payloads else None,
            failure=(attrs.failure.message or "failed") if failed else None,
            retryable=not attrs.failure.application_failure_info.non_retryable,
        )


class HistoryFolder:
    """Consumes events in order; `folded` is the state after the last one."""

    def __init__(self, converter: DataConverter) -> None:
        self.converter = converter
        self.folded = FoldedHistory()
        self._scheduled: dict[int, tuple[str, str]] = {}  # event id -> (activity id, step)
        self._activity_results: dict[str, Any] = {}
        self._scheduled_at: dict[int, datetime] = {}
        self._ai = AiFolder()
        self.folded.ai = self._ai.records

    def _decode(self, payload: Payload) -> Any:
        return self.converter.payload_converter.from_payload(payload)

    def add(self, event: HistoryEvent) -> None:
        handler = _HANDLERS.get(event.event_type)
        if handler is not None:
            handler(self, event)

    def _started(self, event: HistoryEvent) -> None:
        attrs = event.workflow_execution_started_event_attributes
        self.folded.timings.created = _time(event)
        if not attrs.input.payloads:
            return
        params = self.converter.payload_converter.from_payload(
            attrs.input.payloads[0], m.ExecutionInput
        )
        self.folded.params = params
        for step in params.definition.steps:
            self.folded.steps[step.id] = StepRecord(step_id=step.id, kind=step.kind)
        if params.restored is not None:
            for inline in params.restored.deltas:
                self._record(Checkpoint.from_inline(inline))

    def _marker(self, event: HistoryEvent) -> None:
        """A step attempt run as a local activity: scheduled and ended, in one event."""
        attempt = LocalAttempt.of(event, self.converter)
        if attempt is None:
            return
        record = self._attempt_began(attempt.activity_id, attempt.activity_type, event)
        if record is None:
            return
        if attempt.failure is not None:
            record.status = StepStatus.RETRYING
            record.error = attempt.failure
        else:
            self._activity_results[attempt.activity_id] = attempt.result

    def _attempt_began(
        self, activity_id: str, activity_type: str, event: HistoryEvent
    ) -> StepRecord | None:
        """The record of the step whose attempt `activity_id` began (None: not a step's)."""
        parsed = m.parse_activity_id(activity_id)
        record = self.folded.steps.get(parsed[0]) if parsed else None
        if parsed is None or record is None:
            return None
        record.attempts = parsed[1]
        record.status = StepStatus.RUNNING
        record.activity = activity_type
        record.started_at = record.started_at or _time(event)
        return record

    def _scheduled_activity(self, event: HistoryEvent) -> None:
        attrs = event.activity_task_scheduled_event_attributes
        parsed = m.parse_activity_id(attrs.activity_id)
        labelled = step_of(parsed[0]) if parsed else None
        if parsed is not None and labelled is not None:
            # One of an `llm` step's model or tool calls: a record, and the step running.
            parsed = (labelled[0], parsed[1])
            self._ai.scheduled(
                event.event_id,
                AiActivity(
                    activity_id=attrs.activity_id,
                    step_id=labelled[0],
                    label=labelled[1],
                    activity_type=attrs.activity_type.name,
                    input=self._decode(attrs.input.payloads[0]) if attrs.input.payloads else None,
                    scheduled_at=_time(event),
                ),
            )
        if parsed is None:
            return
        activity_id = m.activity_id(*parsed)
        record = self._attempt_began(activity_id, attrs.activity_type.name, event)
        if record is None:
            return
        # What the attempt was given (a local attempt's marker does not record it).
        if labelled is None and attrs.input.payloads:
            task = self._decode(attrs.input.payloads[0])
            record.input = task.get("params") if isinstance(task, dict) else task
        self._scheduled[event.event_id] = (attrs.activity_id, parsed[0])
        self._scheduled_at[event.event_id] = _time(event)

    def _started_activity(self, event: HistoryEvent) -> None:
        scheduled = event.activity_task_started_event_attributes.scheduled_event_id
        self._ai.started(scheduled, _time(event))
        since = self._scheduled_at.get(scheduled)
        waited = _ms(since, _time(event))
        if waited is not None:
            self.folded.timings.dispatch_ms = round(self.folded.timings.dispatch_ms + waited, 3)

    def _task_started(self, event: HistoryEvent) -> None:
        timings = self.folded.timings
        timings.first_task_started = timings.first_task_started or _time(event)

    def _task_completed(self, event: HistoryEvent) -> None:
        timings = self.folded.timings
        timings.first_task_completed = timings.first_task_completed or _time(event)

    def _completed_activity(self, event: HistoryEvent) -> None:
        attrs = event.activity_task_completed_event_attributes
        scheduled = self._scheduled.get(attrs.scheduled_event_id)
        result = self._decode(attrs.result.payloads[0]) if attrs.result.payloads else None
        if scheduled and attrs.result.payloads:
            self._activity_results[scheduled[0]] = result
        answered = self._ai.completed(attrs.scheduled_event_id, result, _time(event))
        if answered is not None and answered.step_id in self.folded.steps:
            self.folded.steps[answered.step_id].details["version"] = answered.model

    def _failed_activity(self, event: HistoryEvent) -> None:
        attrs = event.activity_task_failed_event_attributes
        self._attempt_failed(attrs.scheduled_event_id, attrs.failure.message)
        self._ai.failed(attrs.scheduled_event_id, attrs.failure.message, _time(event))

    def _timed_out_activity(self, event: HistoryEvent) -> None:
        attrs = event.activity_task_timed_out_event_attributes
        message = attrs.failure.message or "timed out"
        self._attempt_failed(attrs.scheduled_event_id, message)
        self._ai.failed(attrs.scheduled_event_id, message, _time(event))

    def _attempt_failed(self, scheduled_event_id: int, message: str) -> None:
        scheduled = self._scheduled.get(scheduled_event_id)
        if scheduled is None:
            return
        record = self.folded.steps[scheduled[1]]
        record.status = StepStatus.RETRYING
        record.error = message

    def _memo(self, event: HistoryEvent) -> None:
        fields = event.workflow_properties_modified_event_attributes.upserted_memo.fields
        if Key.WAITING_ON in fields:
            for step_id, detail in (self._decode(fields[Key.WAITING_ON]) or {}).items():
                record = self.folded.steps.get(step_id)
                if record is not None and record.status == StepStatus.PENDING:
                    record.status = StepStatus.WAITING
                    record.attempts = 1
                    record.started_at = datetime.fromisoformat(detail["since"])
        for delta in recorded_deltas(fields, self._decode):
            activity_id = delta.get("activity_id")
            output = (
                self._activity_results.get(str(activity_id))
                if activity_id is not None
                else delta.get("output")
            )
            checkpoint = Checkpoint(delta, output)
            self._record(checkpoint)
            self._ai.checkpoint(checkpoint)
        if Key.ERROR in fields:
            error = ErrorRecord.decode(self._decode(fields[Key.ERROR]) or {})
            record = self.folded.steps.get(str(error.step_id))
            if record is not None:
                record.status = StepStatus.FAILED
                record.error = error.cause

    def _record(self, checkpoint: Checkpoint) -> None:
        log = self.folded.log
        log.record(checkpoint)
        if checkpoint.rollback_to is not None:
            steps = self.folded.steps
            for step_id, record in steps.items():
                steps[step_id] = StepRecord(step_id=step_id, kind=record.kind)
            for kept in log.steps(steps):
                steps[kept.step_id].apply(kept)
        elif checkpoint.step_id in self.folded.steps:
            self.folded.steps[checkpoint.step_id].apply(checkpoint)

    def _workflow_completed(self, event: HistoryEvent) -> None:
        attrs = event.workflow_execution_completed_event_attributes
        if attrs.result.payloads:
            result = self._decode(attrs.result.payloads[0]) or {}
            self.folded.result = result.get("output") if isinstance(result, dict) else result

    def _workflow_failed(self, event: HistoryEvent) -> None:
        self.folded.failure = event.workflow_execution_failed_event_attributes.failure.message

    def _workflow_cancelled(self, event: HistoryEvent) -> None:
        for record in self.folded.steps.values():
            if record.status in (StepStatus.RUNNING, StepStatus.RETRYING):
                record.status = StepStatus.CANCELED


_HANDLERS: dict[EventType.ValueType, Callable[[HistoryFolder, HistoryEvent], None]] = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: HistoryFolder._started,
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: HistoryFolder._scheduled_activity,
    EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: HistoryFolder._started_activity,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED: HistoryFolder._task_started,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: HistoryFolder._task_completed,
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: HistoryFolder._completed_activity,
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: HistoryFolder._failed_activity,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: HistoryFolder._timed_out_activity,
    EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED: HistoryFolder._memo,
    EventType.EVENT_TYPE_MARKER_RECORDED: HistoryFolder._marker,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: HistoryFolder._workflow_completed,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: HistoryFolder._workflow_failed,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: HistoryFolder._workflow_cancelled,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: HistoryFolder._workflow_cancelled,
}


async def fold(
    handle: WorkflowHandle[Any, Any], converter: DataConverter, through: int | None = None
) -> FoldedHistory:
    """Read the history of `handle` and fold it: all of it, or its events up to `through`
    (the length a describe saw, so the fold and that describe's memo tell one moment)."""
    folder = HistoryFolder(converter)
    async for event in handle.fetch_history_events():
        if through is not None and event.event_id > through:
            break
        folder.add(event)
    return folder.folded


def _time(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=UTC)


def _moment(value: dict[str, Any]) -> datetime:
    """A protobuf `Timestamp` as the marker's JSON holds it (`{seconds, nanos}`)."""
    seconds = int(value.get("seconds", 0)) + int(value.get("nanos", 0)) / 1e9
    return datetime.fromtimestamp(seconds, tz=UTC)
