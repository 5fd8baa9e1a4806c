"""Child runs: what a `workflow` step asks of its worker, and what it gets back.

The step plans the child through an activity (`ferryman.children.plan`: the job's definition
resolved from the metadata store, the input checked against its schema, the child's run
settings), then starts it as a Temporal child workflow from workflow code, so the parent's
history records the child and a parent's cancellation reaches it. With `detach: true` the
run is started by an activity instead (`ferryman.children.start`) and outlives the step.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ferryman.workflows import models as m

PLAN_ACTIVITY = "ferryman.children.plan"
START_ACTIVITY = "ferryman.children.start"


class ChildRequest(BaseModel):
    """A run a parent's step asks for: its id is drawn by the parent, deterministically."""

    execution_id: str
    project_id: str
    job_id: str
    version: int | None = None
    input: dict[str, Any] = Field(default_factory=dict)
    priority: int = 0
    debug_mode: bool = False
    created_by: str | None = None
    parent_run_id: str
    workflow_step_run_id: str  # `<parent run>:<step>:<attempt>`


class ChildPlan(BaseModel):
    """The child run's input and its trigger record (the memo's `run`)."""

    params: m.ExecutionInput
    record: dict[str, Any] = Field(default_factory=dict)


class DetachedStart(BaseModel):
    """Input of `ferryman.children.start`."""

    request: ChildRequest
