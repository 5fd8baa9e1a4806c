"""Translate a Temporal history into user-level events.

Each event's id is `history event id * 10 + n` (n counts the user events one history event
yields), so ids increase along the history and a reconnecting stream resumes exactly
after its `Last-Event-ID`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.converter import DataConverter

from ferryman import search_attributes as sa
from ferryman.activities.llm_contract import CHUNKS_TOPIC, Chunk
from ferryman.api.executions.ai import step_of
from ferryman.api.executions.history import LocalAttempt
from ferryman.api.executions.reader import ExecutionReader
from ferryman.statuses import Status, StepStatus
from ferryman.workflows import models as m
from ferryman.workflows.memo import Key, recorded_deltas

# How often a caught-up chunk subscriber polls again: each poll is an update in the run's
# history, so not a busy loop; deltas arrive in the publisher's batches anyway.
CHUNK_POLL_COOLDOWN = timedelta(milliseconds=250)

UserEvent = tuple[str, str, str, dict[str, Any]]  # type, level, message, data


@dataclass(frozen=True)
class Event:
    """A user-level event translated from the Temporal history."""

    id: int
    type: str
    level: str
    message: str
    created_at: datetime
    data: dict[str, Any] = field(default_factory=dict)


class EventTranslator:
    """Feed history events in order; each yields zero or more user events."""

    def __init__(self, converter: DataConverter) -> None:
        self.converter = converter
        self.max_attempts: dict[str, int] = {}
        self.scheduled: dict[int, tuple[str, int]] = {}
        self.status: str | None = None
        self.event_base = 0  # events of the execution's earlier runs (a rollback's restart)
        self.waiting: set[str] = set()
        # Debug mode: events carry each step's rendered input and its output.
        self.debug = False
        self.results: dict[str, Any] = {}  # activity id -> result, while in debug mode

    def _decode(self, payloads: Any) -> Any:
        if not payloads:
            return None
        return self.converter.payload_converter.from_payload(payloads[0])

    def translate(self, event: HistoryEvent) -> list[Event]:
        made = self._user_events(event)
        at = event.event_time.ToDatetime(tzinfo=UTC)
        return [
            Event(
                id=(self.event_base + event.event_id) * 10 + n,
                type=kind,
                level=level,
                message=message,
                data=data,
                created_at=at,
            )
            for n, (kind, level, message, data) in enumerate(made)
        ]

    def _user_events(self, event: HistoryEvent) -> list[UserEvent]:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            return self._started(event)
        if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            return self._scheduled(event)
        if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            return self._completed_activity(event)
        if kind in (
            EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
            EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        ):
            return self._attempt_failed(event)
        if kind == EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
            return self._memo(event)
        if kind == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            return self._status(event)
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            return self._signal(event)
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            return self._update(event)
        if kind == EventType.EVENT_TYPE_MARKER_RECORDED:
            return self._local_attempt(event)
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
            return [("execution.stop_requested", "info", "stop requested", {})]
        return self._closed(event)

    def _started(self, event: HistoryEvent) -> list[UserEvent]:
        attrs = event.workflow_execution_started_event_attributes
        if not attrs.input.payloads:
            return []
        params = self.converter.payload_converter.from_payload(
            attrs.input.payloads[0], m.ExecutionInput
        )
        definition = params.definition
        if params.restored is not None:
            self.event_base = params.restored.event_base
        self.debug = params.debug_mode
        for step in definition.steps:
            self.max_attempts[step.id] = definition.retry_for(step).max_attempts
        return [
            (
                "execution.started",
                "info",
                f"execution of {params.workflow_name} v{params.version} started",
                {
                    "workflow_id": params.workflow_id,
                    "version": params.version,
                    "input": params.input,
                },
            )
        ]

    def _scheduled(self, event: HistoryEvent) -> list[UserEvent]:
        attrs = event.activity_task_scheduled_event_attributes
        parsed = m.parse_activity_id(attrs.activity_id)
        if parsed is None:
            return []
        step_id, attempt = parsed
        data: dict[str, Any] = {"activity": attrs.activity_type.name}
        labelled = step_of(step_id)
        if labelled is not None:  # one of an `llm` step's model or tool calls
            step_id, data["call"] = labelled
        self.scheduled[event.event_id] = (step_id, attempt)
        data = {"step_id": step_id, "attempt": attempt, **data}
        if self.debug:  # the rendered input the attempt got (secrets still as placeholders)
            task = self._decode(attrs.input.payloads) or {}
            data["input"] = task.get("params")
        return [("step.started", "info", f"step {step_id} attempt {attempt} started", data)]

    def _completed_activity(self, event: HistoryEvent) -> list[UserEvent]:
        if self.debug:
            attrs = event.activity_task_completed_event_attributes
            scheduled = self.scheduled.get(attrs.scheduled_event_id)
            if scheduled is not None:
                self.results[m.activity_id(*scheduled)] = self._decode(attrs.result.payloads)
        return []

    def _attempt_failed(self, event: HistoryEvent) -> list[UserEvent]:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            attrs: Any = event.activity_task_failed_event_attributes
        else:
            attrs = event.activity_task_timed_out_event_attributes
        step_id, attempt = self.scheduled.get(attrs.scheduled_event_id, ("?", 0))
        error = attrs.failure.message or "timed out"
        retryable = not attrs.failure.application_failure_info.non_retryable
        return self._failed(step_id, attempt, error, retryable)

    def _local_attempt(self, event: HistoryEvent) -> list[UserEvent]:
        """A step attempt run as a local activity: it began and ended, in one marker."""
        local = LocalAttempt.of(event, self.converter)
        parsed = m.parse_activity_id(local.activity_id) if local else None
        if local is None or parsed is None:
            return []
        step_id, attempt = parsed
        data: dict[str, Any] = {"step_id": step_id, "attempt": attempt}
        data["activity"] = local.activity_type
        if local.scheduled_at is not None:  # the marker is written when the attempt ends
            data["started_at"] = local.scheduled_at.isoformat()
        made: list[UserEvent] = [
            ("step.started", "info", f"step {step_id} attempt {attempt} started", data)
        ]
        if local.failure is not None:
            made += self._failed(step_id, attempt, local.failure, local.retryable)
        elif self.debug:
            self.results[local.activity_id] = local.result
        return made

    def _failed(self, step_id: str, attempt: int, error: str, retryable: bool) -> list[UserEvent]:
        data = {"step_id": step_id, "attempt": attempt, "error": error}
        if attempt < self.max_attempts.get(step_id, 1) and retryable:
            return [
                (
                    "step.retrying",
                    "warning",
                    f"step {step_id} attempt {attempt} failed: {error}",
                    data,
                )
            ]
        return [("step.failed", "error", f"step {step_id} failed: {error}", data)]

    def _memo(self, event: HistoryEvent) -> list[UserEvent]:
        fields = event.workflow_properties_modified_event_attributes.upserted_memo.fields
        made: list[UserEvent] = []
        if Key.DEBUG_MODE in fields:
            self.debug = bool(self._decode([fields[Key.DEBUG_MODE]]))
            state = "on" if self.debug else "off"
            made.append(("run.debug", "info", f"debug mode {state}", {"enabled": self.debug}))
        if Key.WAITING_ON in fields:
            made += self._waiting(self._decode([fields[Key.WAITING_ON]]) or {})
        for delta in recorded_deltas(fields, lambda payload: self._decode([payload])):
            step_id, status = delta.get("step_id"), delta.get("status")
            if status in (StepStatus.COMPLETED, StepStatus.SKIPPED):
                data = dict(delta)
                if self.debug and "activity_id" in delta:
                    data["output"] = self.results.get(str(delta["activity_id"]))
                made.append((f"step.{status}", "info", f"step {step_id} {status}", data))
            made.append(
                (
                    "checkpoint.created",
                    "info",
                    f"checkpoint {delta.get('sequence')} ({step_id})",
                    {"sequence": delta.get("sequence"), "step_id": step_id},
                )
            )
        return made

    def _waiting(self, waiting_on: dict[str, dict[str, Any]]) -> list[UserEvent]:
        """An in-workflow step (sleep, wait) starts when it first waits."""
        started = [step for step in waiting_on if step not in self.waiting]
        self.waiting = set(waiting_on)
        return [
            (
                "step.started",
                "info",
                f"step {step_id} started",
                {"step_id": step_id, "attempt": 1, **waiting_on[step_id]},
            )
            for step_id in started
        ]

    def _status(self, event: HistoryEvent) -> list[UserEvent]:
        fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
        payload = fields.indexed_fields.get(sa.STATUS.name)
        if payload is None:
            return []
        status = self._decode([payload])
        previous, self.status = self.status, status
        if status == Status.PAUSED:
            return [("execution.paused", "info", "execution paused", {})]
        if previous == Status.PAUSED and status in (Status.EXECUTING, Status.WAITING):
            return [("execution.resumed", "info", "execution resumed", {})]
        return []

    def _signal(self, event: HistoryEvent) -> list[UserEvent]:
        attrs = event.workflow_execution_signaled_event_attributes
        if attrs.signal_name == "signal":
            signal = self._decode(attrs.input.payloads) or {}
            return _received(signal.get("name"), signal.get("payload"))
        if attrs.signal_name == "stop":
            return [("execution.stop_requested", "info", "stop requested", {})]
        if attrs.signal_name in m.CONTROL_SIGNALS:
            return []  # pause and resume show as status changes; rollback as its checkpoint
        if attrs.signal_name.startswith("__"):
            return []  # the SDK's own (an llm step's token batches on the workflow stream)
        # An event for a `wait` step, sent under its own name.
        return _received(attrs.signal_name, self._decode(attrs.input.payloads))

    def _update(self, event: HistoryEvent) -> list[UserEvent]:
        """An accepted control update: events for `wait` steps are received; the others
        show as what they change (status, debug mode, a rollback's checkpoint)."""
        request = event.workflow_execution_update_accepted_event_attributes.accepted_request
        name = request.input.name
        if name != "event" and (name in m.CONTROL_SIGNALS or name.startswith("__")):
            return []
        sent = self._decode(request.input.args.payloads) or {}
        return _received(sent.get("name") if name == "event" else name, sent.get("payload"))

    def _closed(self, event: HistoryEvent) -> list[UserEvent]:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            result = self._decode(
                event.workflow_execution_completed_event_attributes.result.payloads
            )
            result = result if isinstance(result, dict) else {}
            if result.get("status") == Status.CANCELED:
                return [("execution.cancelled", "warning", "execution stopped", {})]
            output = result.get("output")
            return [("execution.completed", "info", "execution completed", {"output": output})]
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            failure = event.workflow_execution_failed_event_attributes.failure
            return [("execution.failed", "error", failure.message, {"error": failure.message})]
        if kind in (
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
        ):
            return [("execution.cancelled", "warning", "execution stopped", {})]
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
            return [("execution.timed_out", "error", "execution timed out", {})]
        return []


def _received(name: Any, payload: Any) -> list[UserEvent]:
    data = {"name": name, "payload": payload}
    return [("signal.received", "info", f"signal {name} received", data)]


@dataclass(frozen=True)
class EventPage:
    items: list[Event]
    next_cursor: int | None  # pass as `after` for the next page; None at the end


class ExecutionEvents:
    """Events of one execution, paged or as a live stream."""

    def __init__(self, reader: ExecutionReader) -> None:
        self.reader = reader

    async def page(self, project_id: str, execution_id: str, after: int, limit: int) -> EventPage:
        described = await self.reader.describe(project_id, execution_id)
        translator = EventTranslator(self.reader.client.data_converter)
        items: list[Event] = []
        async for event in described.handle.fetch_history_events():
            items.extend(e for e in translator.translate(event) if e.id > after)
            if len(items) > limit:
                break
        more = len(items) > limit
        items = items[:limit]
        return EventPage(items, items[-1].id if more else None)

    async def stream(self, project_id: str, execution_id: str, after: int) -> AsyncIterator[Event]:
        """Every event after `after`, then each new one as it happens, until the run closes.

        Checked before the first event is sent, so an unknown id is a 404, not an empty
        stream. The history is long-polled (`wait_new_event`): no busy loop, and the
        iterator ends with the close event.
        """
        described = await self.reader.describe(project_id, execution_id)
        translator = EventTranslator(self.reader.client.data_converter)

        async def events() -> AsyncIterator[Event]:
            async for event in described.handle.fetch_history_events(wait_new_event=True):
                for translated in translator.translate(event):
                    if translated.id > after:
                        yield translated

        return events()

    async def chunks(
        self, project_id: str, execution_id: str, after: int | None
    ) -> AsyncIterator[tuple[int, Chunk]]:
        """The text deltas of the run's streamed `llm` calls after offset `after`, as they
        come (each item's offset is its SSE id), until the run closes; then what is left.

        They travel through the run's workflow stream (`temporalio.contrib.workflow_streams`):
        the worker publishes batches by signal, this long-polls with updates, and after the
        run closes a query drains the rest. Checked first, so an unknown id is a 404.
        """
        await self.reader.describe(project_id, execution_id)
        stream = WorkflowStreamClient.create(self.reader.client, execution_id)

        async def chunks() -> AsyncIterator[tuple[int, Chunk]]:
            async for item in stream.subscribe(
                CHUNKS_TOPIC,
                from_offset=0 if after is None else after + 1,
                result_type=Chunk,
                poll_cooldown=CHUNK_POLL_COOLDOWN,
            ):
                yield item.offset, item.data

        return chunks()
