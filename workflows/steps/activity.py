"""`activity`: a Python activity registered by name in the worker (`@step_activity`).

Its `with` block is checked at registration against the JSON Schema the worker published
for the activity (`check_published`), templated values excepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator

from ferryman.workflows.errors import DefinitionError
from ferryman.workflows.steps.base import StepKind, StepRun, touches_template

if TYPE_CHECKING:
    from ferryman.workflows.dsl import Step

# Errors about which keys an object has are judged on the path alone: a missing or
# unexpected key is wrong whatever the templates beside it render to.
_KEY_VALIDATORS = frozenset({"required", "additionalProperties", "unevaluatedProperties"})


class Activity(StepKind):
    name = "activity"
    names_activity = True

    local_by_default = False  # a user's activity may run long: `local: true` when it is short

    async def run(self, run: StepRun) -> Any:
        return await run.activity(str(run.step.activity), run.params)


def check_published(step: Step, published: Mapping[str, dict[str, Any] | None]) -> None:
    """The step's activity exists on some worker, and its literal `with` fits its schema."""
    if step.activity not in published:
        names = ", ".join(sorted(published)) or "none: no worker has started yet"
        raise DefinitionError(
            f"step {step.id!r} uses activity {step.activity!r}, which no worker "
            f"publishes; known activities: {names}",
            step.id,
        )
    schema = published[str(step.activity)]
    if not schema:
        return
    for error in sorted(Draft202012Validator(schema).iter_errors(step.with_), key=str):
        path = list(error.absolute_path)
        if touches_template(step.with_, path, deep=error.validator not in _KEY_VALIDATORS):
            continue
        where = ".".join(["with", *(str(part) for part in path)])
        raise DefinitionError(
            f"step {step.id!r}: {where} does not match the input schema of activity "
            f"{step.activity!r}: {error.message}",
            step.id,
        )
