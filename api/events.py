"""Translate a Temporal history into user-level events.

Each event's id is `history event id * 10 + n` (n counts the user events one history event
yields), so ids increase along the history and a reconnecting stream resumes exactly
after its `Last-Event-ID`.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.converter import DataConverter

from ferryman import search_attributes as sa
from ferryman.api import schemas
from ferryman.workflows import models as m

CONTROL_SIGNALS = {"stop": "execution.stop_requested"}


class EventTranslator:
    """Feed history events in order; each yields zero or more user events."""

    def __init__(self, converter: DataConverter) -> None:
        self.converter = converter
        self.max_attempts: dict[str, int] = {}
        self.scheduled: dict[int, tuple[str, int]] = {}
        self.status: str | None = None

    def _decode(self, payloads: Any) -> Any:
        if not payloads:
            return None
        return self.converter.payload_converter.from_payload(payloads[0])

    def translate(self, event: HistoryEvent) -> list[schemas.Event]:
        made = self._user_events(event)
        at = event.event_time.ToDatetime(tzinfo=UTC)
        return [
            schemas.Event(
                id=event.event_id * 10 + n,
                type=kind,
                level=level,
                message=message,
                data=data,
                created_at=at,
            )
            for n, (kind, level, message, data) in enumerate(made)
        ]

    def _user_events(self, event: HistoryEvent) -> list[tuple[str, str, str, dict[str, Any]]]:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            return self._started(event)
        if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            return self._scheduled(event)
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
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
            return [("execution.stop_requested", "info", "stop requested", {})]
        return self._closed(event)

    def _started(self, event: HistoryEvent) -> list[tuple[str, str, str, dict[str, Any]]]:
        attrs = event.workflow_execution_started_event_attributes
        params = self._decode(attrs.input.payloads) or {}
        definition = params.get("definition", {})
        default = definition.get("defaults", {}).get("retry", {}).get("max_attempts", 1)
        for step in definition.get("steps", []):
            self.max_attempts[step["id"]] = (step.get("retry") or {}).get("max_attempts", default)
        name = params.get("workflow_name", "")
        return [
            (
                "execution.started",
                "info",
                f"execution of {name} v{params.get('version')} started",
                {
                    "workflow_id": params.get("workflow_id"),
                    "version": params.get("version"),
                    "input": params.get("input"),
                },
            )
        ]

    def _scheduled(self, event: HistoryEvent) -> list[tuple[str, str, str, dict[str, Any]]]:
        attrs = event.activity_task_scheduled_event_attributes
        parsed = m.parse_activity_id(attrs.activity_id)
        if parsed is None:
            return []
        step_id, attempt = parsed
        self.scheduled[event.event_id] = parsed
        data = {"step_id": step_id, "attempt": attempt, "activity": attrs.activity_type.name}
        return [("step.started", "info", f"step {step_id} attempt {attempt} started", data)]

    def _attempt_failed(self, event: HistoryEvent) -> list[tuple[str, str, str, dict[str, Any]]]:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            attrs: Any = event.activity_task_failed_event_attributes
        else:
            attrs = event.activity_task_timed_out_event_attributes
        step_id, attempt = self.scheduled.get(attrs.scheduled_event_id, ("?", 0))
        error = attrs.failure.message or "timed out"
        data = {"step_id": step_id, "attempt": attempt, "error": error}
        if (
            attempt < self.max_attempts.get(step_id, 1)
            and not attrs.failure.application_failure_info.non_retryable
        ):
            return [
                (
                    "step.retrying",
                    "warning",
                    f"step {step_id} attempt {attempt} failed: {error}",
                    data,
                )
            ]
        return [("step.failed", "error", f"step {step_id} failed: {error}", data)]

    def _memo(self, event: HistoryEvent) -> list[tuple[str, str, str, dict[str, Any]]]:
        fields = event.workflow_properties_modified_event_attributes.upserted_memo.fields
        made: list[tuple[str, str, str, dict[str, Any]]] = []
        if m.MEMO_CHECKPOINT in fields:
            delta = self._decode([fields[m.MEMO_CHECKPOINT]]) or {}
            step_id, status = delta.get("step_id"), delta.get("status")
            if status in ("completed", "skipped"):
                made.append((f"step.{status}", "info", f"step {step_id} {status}", delta))
            made.append(
                (
                    "checkpoint.created",
                    "info",
                    f"checkpoint {delta.get('sequence')} ({step_id})",
                    {"sequence": delta.get("sequence"), "step_id": step_id},
                )
            )
        return made

    def _status(self, event: HistoryEvent) -> list[tuple[str, str, str, dict[str, Any]]]:
        fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
        payload = fields.indexed_fields.get(sa.STATUS.name)
        if payload is None:
            return []
        status = self._decode([payload])
        previous, self.status = self.status, status
        if status == "paused":
            return [("execution.paused", "info", "execution paused", {})]
        if previous == "paused" and status in ("executing", "waiting"):
            return [("execution.resumed", "info", "execution resumed", {})]
        return []

    def _signal(self, event: HistoryEvent) -> list[tuple[str, str, str, dict[str, Any]]]:
        attrs = event.workflow_execution_signaled_event_attributes
        if attrs.signal_name == "signal":
            signal = self._decode(attrs.input.payloads) or {}
            name = signal.get("name")
            return [("signal.received", "info", f"signal {name} received", signal)]
        if attrs.signal_name in CONTROL_SIGNALS:
            return [(CONTROL_SIGNALS[attrs.signal_name], "info", "stop requested", {})]
        return []

    def _closed(self, event: HistoryEvent) -> list[tuple[str, str, str, dict[str, Any]]]:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            result = self._decode(
                event.workflow_execution_completed_event_attributes.result.payloads
            )
            result = result if isinstance(result, dict) else {}
            if result.get("status") == "canceled":
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
