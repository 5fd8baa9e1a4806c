"""`sleep`: a durable timer inside the workflow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from temporalio import workflow

from ferryman.workflows.steps.base import StepKind, StepRun


class SleepParams(BaseModel):
    model_config = ConfigDict(extra="ignore")

    seconds: float = Field(
        ge=0, allow_inf_nan=False, description="How long to wait: a finite, non-negative number"
    )


class Sleep(StepKind):
    name = "sleep"
    params = SleepParams

    async def run(self, run: StepRun) -> Any:
        await run.begin()
        seconds = run.parse(SleepParams).seconds
        run.wait_on(until=(workflow.now() + timedelta(seconds=seconds)).isoformat())
        await workflow.sleep(
            timedelta(seconds=seconds), summary=f"{run.step.title}: sleep {seconds}s"
        )
        return {"slept_secs": seconds}
