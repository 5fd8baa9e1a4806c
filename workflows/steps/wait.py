"""`wait`: hold until an event arrives (`POST .../signal {name}`), buffered if it came early."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field
from temporalio import workflow

from ferryman.workflows.errors import DefinitionError
from ferryman.workflows.models import CONTROL_SIGNALS
from ferryman.workflows.steps.base import StepKind, StepRun
from ferryman.workflows.templating import is_template

if TYPE_CHECKING:
    from ferryman.workflows.dsl import Step


class WaitParams(BaseModel):
    model_config = ConfigDict(extra="ignore")

    signal: str = Field(
        min_length=1, max_length=200, description="The name of the event that releases the step"
    )


class Wait(StepKind):
    name = "wait"
    params = WaitParams

    def check(self, step: Step) -> None:
        super().check(step)
        signal = step.with_.get("signal")
        if is_template(signal):
            # Signals are matched against the definition by name, before the step runs.
            raise DefinitionError(
                f"step {step.id!r}: `with.signal` must be a name, not a template", step.id
            )
        if signal in CONTROL_SIGNALS:
            raise DefinitionError(
                f"step {step.id!r}: `with.signal` may not be {signal!r}, a name ferryman "
                f"uses itself ({', '.join(sorted(CONTROL_SIGNALS))})",
                step.id,
            )

    async def run(self, run: StepRun) -> Any:
        await run.begin()
        name = run.parse(WaitParams).signal
        timeout = run.step.timeout_secs
        if timeout is None:
            run.wait_on(signal=name)
        else:
            run.wait_on(
                signal=name, until=(workflow.now() + timedelta(seconds=timeout)).isoformat()
            )
        return await run.signal(name, timeout)
