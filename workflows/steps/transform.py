"""`transform`: a pure value rendered from earlier outputs, computed in the workflow itself."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ferryman.workflows.steps.base import StepKind, StepRun


class TransformParams(BaseModel):
    model_config = ConfigDict(extra="ignore")

    value: Any = Field(description="The step's output: any JSON value, templates rendered")


class Transform(StepKind):
    name = "transform"
    params = TransformParams

    async def run(self, run: StepRun) -> Any:
        await run.begin()
        return run.params.get("value")
