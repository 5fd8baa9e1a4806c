"""Step activities by name: the built-ins and the ones users add.

A user activity is an async function of one argument decorated with `@step_activity(name)`,
in a module named in `FERRYMAN_ACTIVITY_MODULES`. Its argument may be annotated with a
pydantic model: the step's rendered `with` block is validated into it (a violation fails the
step at once, not retryably) and the model's JSON Schema is what the worker publishes.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from ferryman.activities.secrets import resolve_secrets
from ferryman.validation import error_sentence


class StepTask(BaseModel):
    """The single input of every step activity."""

    model_config = ConfigDict(extra="ignore")

    execution_id: str
    step_id: str
    attempt: int = 1
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def idempotency_key(self) -> str:
        """Stable across attempts of the same step: safe as a downstream idempotency token."""
        return f"{self.execution_id}:{self.step_id}"


StepFunction = Callable[[Any], Awaitable[Any]]


@dataclass(frozen=True)
class RegisteredActivity:
    name: str
    description: str
    input_schema: dict[str, Any] | None
    defn: Callable[[StepTask], Awaitable[Any]]


_REGISTRY: dict[str, RegisteredActivity] = {}


def step_activity(name: str) -> Callable[[StepFunction], StepFunction]:
    """Register `fn` as the step activity `name` (used by `kind: activity` steps)."""

    def decorate(fn: StepFunction) -> StepFunction:
        model = _input_model(fn)

        @activity.defn(name=name)
        async def run(task: StepTask) -> Any:
            params = resolve_secrets(task.params)
            if model is StepTask:
                return await fn(task.model_copy(update={"params": params}))
            if model is not None:
                try:
                    params = model.model_validate(params)
                except ValidationError as err:
                    raise ApplicationError(
                        f"input of activity {name!r} is invalid: {error_sentence(err)}",
                        type="InvalidActivityInput",
                        non_retryable=True,
                    ) from err
            return await fn(params)

        schema = model.model_json_schema() if model not in (None, StepTask) else None
        _REGISTRY[name] = RegisteredActivity(
            name=name,
            description=inspect.getdoc(fn) or "",
            input_schema=schema,
            defn=run,
        )
        return fn

    return decorate


def _input_model(fn: StepFunction) -> type[BaseModel] | None:
    hints = get_type_hints(fn)
    hints.pop("return", None)
    annotation = next(iter(hints.values()), None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def load_modules(modules: Iterable[str]) -> None:
    """Import user modules so their `@step_activity` decorators register them."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise RuntimeError(
                f"cannot import activity module {module!r} from FERRYMAN_ACTIVITY_MODULES: {err}"
            ) from err


def registered() -> dict[str, RegisteredActivity]:
    return dict(_REGISTRY)
