"""The definition snapshot an execution carries in its input: inert, versioned plain data.

The API validates a definition once (`ferryman.workflows.dsl.WorkflowDefinition`) and puts
this snapshot of it into the workflow input. A worker decodes the input again on every
replay after a cache eviction, so nothing here may validate: no patterns, bounds or
validators, only types and defaults. A rule tightened in the DSL later therefore never
makes a running execution undecodable.

Versions: 1 is the shape before snapshots existed (the validated definition itself, dumped
by alias, with no `snapshot_version` key); 2 adds the key and nothing else. A new field
needs a default; a changed meaning needs a new version and a `workflow.patched` branch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from ferryman.workflows.dsl import WorkflowDefinition

SNAPSHOT_VERSION = 2


class _Inert(BaseModel):
    """Unknown keys are ignored, so a snapshot written by newer code still decodes."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class RetrySnapshot(_Inert):
    max_attempts: int = 1
    backoff: str = "exponential"
    initial_delay_secs: float = 1.0
    max_delay_secs: float = 300.0

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before `attempt` (2 is the first retry)."""
        retry = attempt - 1
        if self.backoff == "fixed":
            delay = self.initial_delay_secs
        elif self.backoff == "linear":
            delay = self.initial_delay_secs * retry
        else:
            delay = self.initial_delay_secs * 2 ** (retry - 1)
        return min(delay, self.max_delay_secs)


class DefaultsSnapshot(_Inert):
    retry: RetrySnapshot = Field(default_factory=RetrySnapshot)
    timeout_secs: float = 300.0
    heartbeat_secs: float | None = None  # resolved at launch (the worker setting's default)


class StepSnapshot(_Inert):
    id: str
    kind: str
    name: str | None = None
    activity: str | None = None
    workflow: str | None = None
    version: int | None = None
    detach: bool = False
    depends_on: list[str] = Field(default_factory=list)
    if_: str | bool | None = Field(default=None, alias="if")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    retry: RetrySnapshot | None = None
    timeout_secs: float | None = None
    heartbeat_secs: float | None = None
    local: bool | None = None  # None: the kind's default

    @property
    def title(self) -> str:
        return self.name or self.id


class DefinitionSnapshot(_Inert):
    snapshot_version: int = 1
    id: str | None = None
    name: str = ""
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    defaults: DefaultsSnapshot = Field(default_factory=DefaultsSnapshot)
    steps: list[StepSnapshot] = Field(default_factory=list)
    output: Any = None
    dead_letter: bool = True  # a retryable error that outlives its attempts parks the run

    @classmethod
    def of(
        cls, definition: WorkflowDefinition, heartbeat_secs: float | None = None
    ) -> DefinitionSnapshot:
        """The snapshot of a validated definition; `heartbeat_secs` is the deployment's
        default for activity steps that name none."""
        dumped = definition.model_dump(mode="json", by_alias=True)
        snapshot = cls.model_validate({**dumped, "snapshot_version": SNAPSHOT_VERSION})
        if snapshot.defaults.heartbeat_secs is None:
            snapshot.defaults.heartbeat_secs = heartbeat_secs
        return snapshot

    def step(self, step_id: str) -> StepSnapshot:
        return next(step for step in self.steps if step.id == step_id)

    def retry_for(self, step: StepSnapshot) -> RetrySnapshot:
        return step.retry or self.defaults.retry

    def timeout_for(self, step: StepSnapshot) -> float:
        return step.timeout_secs or self.defaults.timeout_secs

    def heartbeat_for(self, step: StepSnapshot) -> float | None:
        """None for executions started before a default existed: they keep running as then."""
        return step.heartbeat_secs or self.defaults.heartbeat_secs

    def wait_signals(self) -> set[str]:
        """The signal names the definition's `wait` steps accept."""
        return {str(step.with_.get("signal")) for step in self.steps if step.kind == "wait"}
