"""What a run's `llm` steps did, read back from its history: the records of `/v1/runs/{id}/
usage`, `/tool-calls` and `/outputs`.

Nothing is stored twice: each model call is a `ferryman.llm.chat` activity (its result
carries usage and cost), each tool call an activity of the tool's name whose id names its
step (`<step>.tool<n>#<attempt>`), and each structured output is an `llm` step's checkpoint
(its output, with the schema the checkpoint notes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ferryman.activities.llm_contract import CHAT_ACTIVITY
from ferryman.workflows.checkpoints import Checkpoint

# `<step>.call<n>` and `<step>.tool<n>`: the activities of an `llm` step (`StepRun.call`).
_LABELLED = re.compile(r"^(?P<step>.+)\.(?P<label>call|tool)(?P<n>\d+)$")


@dataclass
class ModelCall:
    id: str  # the activity id of the attempt that answered
    step_id: str
    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_microusd: int
    created_at: datetime


@dataclass
class ToolCallRecord:
    id: str
    step_id: str
    tool_name: str
    input: Any
    output: Any
    duration_ms: float | None
    status: str  # completed, failed (the model was told why) or running
    created_at: datetime


@dataclass
class StructuredOutputRecord:
    id: str
    step_id: str
    schema: dict[str, Any]
    value: Any
    created_at: datetime


@dataclass
class AiActivity:
    """One attempt of an `llm` step's activity, as the history shows it so far."""

    activity_id: str
    step_id: str
    label: str
    activity_type: str
    input: Any
    scheduled_at: datetime
    started_at: datetime | None = None

    @property
    def is_tool(self) -> bool:
        return self.label.startswith("tool")


@dataclass
class AiRecords:
    model_calls: list[ModelCall] = field(default_factory=list)
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    outputs: list[StructuredOutputRecord] = field(default_factory=list)


def step_of(activity_step: str) -> tuple[str, str] | None:
    """(step id, label: `call<n>` or `tool<n>`) of an `llm` step's activity, else None."""
    match = _LABELLED.match(activity_step)
    return (match["step"], f"{match['label']}{match['n']}") if match else None


class AiFolder:
    """Collects the records as the history folder meets the events."""

    def __init__(self) -> None:
        self.records = AiRecords()
        self.pending: dict[int, AiActivity] = {}  # scheduled event id -> attempt

    def scheduled(self, event_id: int, activity: AiActivity) -> None:
        self.pending[event_id] = activity
        if activity.is_tool:
            self.records.tool_calls.append(
                ToolCallRecord(
                    id=activity.activity_id,
                    step_id=activity.step_id,
                    tool_name=activity.activity_type,
                    input=_params(activity.input),
                    output=None,
                    duration_ms=None,
                    status="running",
                    created_at=activity.scheduled_at,
                )
            )

    def started(self, scheduled_event_id: int, at: datetime) -> None:
        activity = self.pending.get(scheduled_event_id)
        if activity is not None:
            activity.started_at = at

    def completed(self, scheduled_event_id: int, result: Any, at: datetime) -> ModelCall | None:
        """Record what the attempt returned; the model call, when it was one."""
        activity = self.pending.pop(scheduled_event_id, None)
        if activity is None:
            return None
        if activity.activity_type == CHAT_ACTIVITY and isinstance(result, dict):
            usage = result.get("usage") or {}
            call = ModelCall(
                id=activity.activity_id,
                step_id=activity.step_id,
                provider=str(result.get("provider", "")),
                model=str(result.get("model", "")),
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
                total_tokens=int(usage.get("total_tokens", 0)),
                cost_microusd=int(result.get("cost_microusd", 0)),
                created_at=at,
            )
            self.records.model_calls.append(call)
            return call
        if activity.is_tool:
            self._tool_ended(activity, "completed", result, at)
        return None

    def failed(self, scheduled_event_id: int, message: str, at: datetime) -> None:
        activity = self.pending.pop(scheduled_event_id, None)
        if activity is not None and activity.is_tool:
            self._tool_ended(activity, "failed", {"error": message}, at)

    def checkpoint(self, checkpoint: Checkpoint) -> None:
        llm = checkpoint.details.get("llm")
        if isinstance(llm, dict) and llm.get("output_schema") is not None:
            self.records.outputs.append(
                StructuredOutputRecord(
                    id=f"out_{checkpoint.step_id}_{checkpoint.sequence}",
                    step_id=checkpoint.step_id,
                    schema=dict(llm["output_schema"]),
                    value=checkpoint.output,
                    created_at=checkpoint.created_at,
                )
            )

    def _tool_ended(self, activity: AiActivity, status: str, output: Any, at: datetime) -> None:
        for record in self.records.tool_calls:
            if record.id == activity.activity_id:
                record.status = status
                record.output = output
                since = activity.started_at or activity.scheduled_at
                record.duration_ms = round((at - since).total_seconds() * 1000, 3)


def _params(task: Any) -> Any:
    """A tool's input: the `params` of the `StepTask` it was scheduled with."""
    return task.get("params") if isinstance(task, dict) else task
