"""What a step kind is: its parameters, its registration checks, how it runs, its primary value.

A kind is checked twice. At registration (`StepKind.check`), every literal parameter is
validated against the kind's `Params` model; a templated value (`{{ ... }}`) is unknown
until the step runs, so it is skipped there. At run time the rendered parameters are parsed
again (`StepRun.parse`), and a value that renders to something invalid fails the step with a
sentence: nothing waits forever on a bad value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from ferryman.validation import error_sentence
from ferryman.workflows.errors import DefinitionError, StepFailed
from ferryman.workflows.templating import is_template, template_strings

if TYPE_CHECKING:
    from ferryman.workflows.dsl import Step
    from ferryman.workflows.snapshot import StepSnapshot

ParamsT = TypeVar("ParamsT", bound=BaseModel)
T = TypeVar("T")


class StepRun(Protocol):
    """One run of one step, as a kind sees it (ExecutionWorkflow implements it)."""

    @property
    def step(self) -> StepSnapshot: ...

    @property
    def execution_id(self) -> str: ...

    @property
    def params(self) -> dict[str, Any]:
        """The step's `with` block, rendered."""
        ...

    def parse(self, model: type[ParamsT]) -> ParamsT:
        """The rendered parameters as `model`; a violation fails the step, naming the field."""
        ...

    async def begin(self) -> None:
        """Hold while paused, then mark the step running (for kinds that run in the workflow)."""
        ...

    def wait_on(self, **detail: Any) -> None:
        """The step now waits on a timer (`until`) or an event (`signal`)."""
        ...

    async def activity(self, name: str, params: dict[str, Any]) -> Any:
        """Run activity `name` under the step's retry policy; its result."""
        ...

    async def signal(self, name: str, timeout_secs: float | None) -> Any:
        """The payload of the next `name` signal (buffered ones first)."""
        ...

    async def call(
        self, name: str, arg: Callable[[int], Any], label: str, result_type: type[T] | None = None
    ) -> T:
        """One of several activities of the step (`arg(attempt)` is its input), under the
        step's retry policy; its result."""
        ...

    def note(self, **details: Any) -> None:
        """Details the step's checkpoint carries beside its output (an `llm` step's model,
        parameters and output schema)."""
        ...

    async def child(
        self, job_id: str, version: int | None, input_data: dict[str, Any], detach: bool
    ) -> Any:
        """Run job `job_id` as a child run under the step's retry policy; its output."""
        ...

    def fail(self, message: str, error_type: str) -> StepFailed:
        """The failure that ends the execution (raise it)."""
        ...


class StepKind:
    """Base of every step kind; subclasses live one per module in `ferryman.workflows.steps`."""

    name: ClassVar[str]
    # The `with` block. Unknown keys are refused at registration; at run time they are
    # ignored, so an execution started before a parameter was retired keeps running.
    params: ClassVar[type[BaseModel] | None] = None
    # Whether the step names a registered Python activity (`activity: <name>`).
    names_activity: ClassVar[bool] = False
    # Whether its attempts run as local activities unless the step says (`local`); None
    # for kinds whose work is not one activity attempt (they take no `local`).
    local_by_default: ClassVar[bool | None] = None

    def check(self, step: Step) -> None:
        """Registration-time checks of one step of this kind."""
        if self.names_activity and not step.activity:
            raise DefinitionError(
                f"step {step.id!r} of kind {self.name!r} needs `activity`", step.id
            )
        if not self.names_activity and step.activity:
            raise DefinitionError(
                f"step {step.id!r} names an activity but has kind {self.name!r}", step.id
            )
        if self.name != "workflow" and (step.workflow or step.version or step.detach):
            raise DefinitionError(
                f"step {step.id!r} has `workflow`, `version` or `detach`, which only steps "
                f"of kind 'workflow' take (it has kind {self.name!r})",
                step.id,
            )
        if step.local is not None and self.local_by_default is None:
            raise DefinitionError(
                f"step {step.id!r} has `local`, which only `http` and `activity` steps take",
                step.id,
            )
        if step.local and step.heartbeat_secs is not None:
            raise DefinitionError(
                f"step {step.id!r} is `local` and has `heartbeat_secs`: a local activity "
                "cannot heartbeat (leave `local` out for a long step that heartbeats)",
                step.id,
            )
        if self.params is not None:
            check_literal_params(step.id, self.name, self.params, step.with_)

    async def run(self, run: StepRun) -> Any:
        """Run the step; its output."""
        raise NotImplementedError

    def timing(self, output: Any) -> dict[str, float]:
        """Network timings of a completed step (`connect_ms`, `ttfb_ms`, `transfer_ms`), summed
        into the run's execution trace."""
        return {}

    def primary(self, output: Any) -> Any:
        """The one value a UI would show for the step (seed 003's `primary`)."""
        if isinstance(output, list):
            return output[0] if output else None
        return output


def parse_params(step_id: str, model: type[ParamsT], params: dict[str, Any]) -> ParamsT:
    """Rendered parameters as `model`, or a ValueError whose sentence names the step."""
    try:
        return model.model_validate(params)
    except ValidationError as err:
        raise ValueError(
            f"step {step_id!r}: {error_sentence(err, prefix='with', limit=1)}"
        ) from err


def check_literal_params(
    step_id: str, kind: str, model: type[BaseModel], block: dict[str, Any]
) -> None:
    """Validate what is literal in a `with` block; templated values wait for run time."""
    accepted = {field.alias or name for name, field in model.model_fields.items()}
    unknown = sorted(set(block) - accepted)
    if unknown:
        raise DefinitionError(
            f"step {step_id!r}: `with.{unknown[0]}` is not a parameter of {kind} steps "
            f"(they take {', '.join(sorted(accepted))})",
            step_id,
        )
    try:
        model.model_validate(block)
    except ValidationError as err:
        errors = [e for e in err.errors() if not touches_template(block, e["loc"])]
        if errors and errors[0]["type"] == "missing":
            where = ".".join(str(part) for part in errors[0]["loc"])
            raise DefinitionError(
                f"step {step_id!r} of kind {kind!r} needs `with.{where}`", step_id
            ) from err
        if errors:
            raise DefinitionError(
                f"step {step_id!r}: {error_sentence(errors, prefix='with', limit=1)}", step_id
            ) from err


def touches_template(block: Any, path: Sequence[Any], deep: bool = True) -> bool:
    """Whether the value at `path` (or on the way to it) is templated, so unknown now.

    With `deep`, templates anywhere inside the value count too (a check of a whole object
    cannot be judged while part of it is unknown); without, only the path itself counts
    (a missing or unexpected key is wrong whatever the templates around it render to).
    """
    node = block
    for part in path:
        if is_template(node):
            return True
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and -len(node) <= part < len(node)
        ):
            node = node[part]
        else:
            return False
    if deep:
        return any(True for _ in template_strings(node))
    return is_template(node)
