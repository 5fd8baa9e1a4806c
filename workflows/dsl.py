"""The workflow definition document (API.md, "Workflow definitions") and its validation."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ferryman.validation import json_schema
from ferryman.workflows import steps
from ferryman.workflows.errors import DefinitionError
from ferryman.workflows.templating import TemplateError, referenced_steps, template_strings

SLUG = r"^[a-z0-9][a-z0-9_-]{0,62}$"
STEP_ID = r"^[A-Za-z_][A-Za-z0-9_-]{0,62}$"

__all__ = ["DefinitionError", "Step", "WorkflowDefinition", "check_definition", "slugify"]


class RetryPolicy(BaseModel):
    """Retries driven by the workflow: exact backoff on durable timers, one event per attempt.

    The delays themselves are computed from the snapshot (`RetrySnapshot.delay_before`).
    By default a step gets three attempts, as a durable orchestrator's users expect.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "max_attempts": 3,
                    "backoff": "exponential",
                    "initial_delay_secs": 1,
                    "max_delay_secs": 60,
                },
                {"max_attempts": 5, "backoff": "linear", "initial_delay_secs": 2},
            ]
        },
    )

    max_attempts: int = Field(default=3, ge=1, le=100)
    backoff: Literal["exponential", "linear", "fixed"] = "exponential"
    initial_delay_secs: float = Field(default=1.0, ge=0, le=86_400)
    max_delay_secs: float = Field(default=300.0, ge=0, le=7 * 86_400)


class Defaults(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "retry": {
                        "max_attempts": 3,
                        "backoff": "exponential",
                        "initial_delay_secs": 1,
                        "max_delay_secs": 60,
                    },
                    "timeout_secs": 300,
                    "heartbeat_secs": 15,
                }
            ]
        },
    )

    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    timeout_secs: float = Field(default=300.0, gt=0, le=7 * 86_400)
    heartbeat_secs: float | None = Field(
        default=None,
        gt=0,
        le=86_400,
        description="An activity attempt silent this long is lost (its worker died) and is "
        "retried; default FERRYMAN_HEARTBEAT_SECS (15)",
    )


class Concurrency(BaseModel):
    """At most `limit` runs of one key execute at once; the others are `queued`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"limit": 2, "key": "{{ input.tenant }}"}]},
    )

    limit: int = Field(ge=1, le=10_000)
    key: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="A template over `input` and `metadata` (`{{ input.tenant }}`); "
        "default: the job id. A trigger's `concurrency_key` overrides it",
    )


class Step(BaseModel):
    """One node of the DAG."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "shout",
                    "kind": "transform",
                    "depends_on": ["hello", "pause"],
                    "with": {"value": "{{ steps.hello.output | upper }}"},
                },
                {
                    "id": "send",
                    "kind": "activity",
                    "activity": "json.validate",
                    "depends_on": ["greeting", "approval"],
                    "if": "steps.approval.output.approved",
                    "with": {"data": "{{ steps.greeting.output }}", "schema": {"type": "object"}},
                    "retry": {"max_attempts": 5, "backoff": "linear", "initial_delay_secs": 2},
                    "timeout_secs": 30,
                },
            ]
        },
    )

    id: str = Field(pattern=STEP_ID)
    kind: str
    name: str | None = None
    activity: str | None = None
    workflow: str | None = Field(
        default=None, pattern=SLUG, description="`workflow` steps: the job a child run runs"
    )
    version: int | None = Field(
        default=None, ge=1, description="`workflow` steps: the job's version (default latest)"
    )
    detach: bool = Field(
        default=False,
        description="`workflow` steps: start the run and go on; it outlives this run",
    )
    depends_on: list[str] = Field(default_factory=list)
    if_: str | bool | None = Field(default=None, alias="if")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    retry: RetryPolicy | None = None
    timeout_secs: float | None = Field(default=None, gt=0, le=7 * 86_400)
    heartbeat_secs: float | None = Field(
        default=None,
        gt=0,
        le=86_400,
        description="An attempt silent this long is lost (its worker died) and is retried; "
        "a stop reaches a running attempt within this time. Activities heartbeat on their "
        "own while they run",
    )
    local: bool | None = Field(
        default=None,
        description="`http` and `activity` steps: run each attempt as a Temporal local "
        "activity, inside the workflow's task (no task queue round trip, no heartbeat). "
        "Default: true for `http`, false for `activity`",
    )

    @property
    def title(self) -> str:
        return self.name or self.id


class WorkflowDefinition(BaseModel):
    """A versioned, declarative workflow: steps, an optional input schema and an output."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "greet",
                    "name": "Greeting",
                    "input_schema": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {"name": {"type": "string"}},
                    },
                    "steps": [
                        {
                            "id": "hello",
                            "kind": "transform",
                            "with": {"value": "Hello {{ input.name }}"},
                        },
                        {"id": "pause", "kind": "sleep", "with": {"seconds": 1}},
                        {
                            "id": "shout",
                            "kind": "transform",
                            "depends_on": ["hello", "pause"],
                            "with": {"value": "{{ steps.hello.output | upper }}"},
                        },
                    ],
                    "output": "{{ steps.shout.output }}",
                }
            ]
        },
    )

    id: str | None = Field(default=None, pattern=SLUG)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    defaults: Defaults = Field(default_factory=Defaults)
    steps: list[Step] = Field(min_length=1)
    output: Any = None
    presets: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Named payloads a restart (or trigger) may start from: "
        "`POST /v1/runs/{id}/restart {preset}`",
    )
    concurrency: Concurrency | None = Field(
        default=None,
        description="At most `limit` runs of one key execute at once; the rest are `queued` "
        "and start in priority order, then trigger order, as slots free",
    )
    dead_letter: bool = Field(
        default=True,
        description="A retryable error that outlives a step's last attempt parks the run as "
        "`dead_letter`, to be redriven from its last checkpoint; false: `failed`",
    )

    _schema_is_valid = field_validator("input_schema")(json_schema)

    @model_validator(mode="after")
    def _check_graph(self) -> WorkflowDefinition:
        check_definition(self)
        return self

    def activity_steps(self) -> list[Step]:
        return [step for step in self.steps if steps.KINDS[step.kind].names_activity]


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63]
    return slug or "workflow"


def check_definition(definition: WorkflowDefinition) -> None:
    """Everything pydantic cannot see: kinds, references, cycles and templates."""
    ids = [step.id for step in definition.steps]
    seen: set[str] = set()
    for step in definition.steps:
        if step.id in seen:
            raise DefinitionError(f"step {step.id!r} is defined more than once", step.id)
        seen.add(step.id)
    for step in definition.steps:
        _check_kind(step)
        for dependency in step.depends_on:
            if dependency not in seen:
                raise DefinitionError(
                    f"step {step.id!r} depends on {dependency!r}, which is not a step", step.id
                )
    order = topological_order(definition)
    ancestors = _ancestors(definition, order)
    for step in definition.steps:
        for text in _step_templates(step):
            _check_template(text, allowed=ancestors[step.id], step=step.id)
    for text in template_strings(definition.output):
        _check_template(text, allowed=set(ids), step=None)
    if definition.concurrency is not None and definition.concurrency.key is not None:
        # Rendered when a run is triggered, before any step: only input and metadata exist.
        _check_template(definition.concurrency.key, set(), None, "the concurrency key")


def _check_kind(step: Step) -> None:
    """The kind exists and its own checks pass (`ferryman.workflows.steps`)."""
    runnable = ", ".join(sorted(steps.KINDS))
    kind = steps.KINDS.get(step.kind)
    if kind is None:
        raise DefinitionError(
            f"step {step.id!r} has unknown kind {step.kind!r}; use one of {runnable}", step.id
        )
    kind.check(step)


def _step_templates(step: Step) -> Iterable[str]:
    yield from template_strings(step.with_)
    if isinstance(step.if_, str):
        # `if` is an expression; a bare expression is accepted as well as `{{ ... }}`.
        yield step.if_ if "{{" in step.if_ else "{{ " + step.if_ + " }}"


def _check_template(
    text: str, allowed: set[str], step: str | None, where: str = "the workflow output"
) -> None:
    where = f"step {step!r}" if step else where
    try:
        used = referenced_steps(text)
    except TemplateError as err:
        raise DefinitionError(f"{where}: {err}", step) from err
    outside = used - allowed
    if outside:
        names = ", ".join(sorted(outside))
        raise DefinitionError(
            f"{where} reads steps.{names}, which is not upstream of it "
            "(add it to depends_on, directly or through another step)",
            step,
        )


def topological_order(definition: WorkflowDefinition) -> list[str]:
    """Kahn's algorithm; a leftover step proves a cycle and is named."""
    remaining = {step.id: set(step.depends_on) for step in definition.steps}
    order: list[str] = []
    while remaining:
        ready = sorted(step for step, deps in remaining.items() if not deps)
        if not ready:
            cycle = sorted(remaining)[0]
            raise DefinitionError(
                f"step {cycle!r} is part of a cycle in depends_on ({', '.join(sorted(remaining))})",
                cycle,
            )
        for step in ready:
            del remaining[step]
            order.append(step)
        for deps in remaining.values():
            deps.difference_update(ready)
    return order


def _ancestors(definition: WorkflowDefinition, order: list[str]) -> dict[str, set[str]]:
    by_id = {step.id: step for step in definition.steps}
    ancestors: dict[str, set[str]] = {}
    for step_id in order:
        found: set[str] = set()
        for dependency in by_id[step_id].depends_on:
            found |= {dependency} | ancestors[dependency]
        ancestors[step_id] = found
    return ancestors
