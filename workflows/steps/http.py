"""`http`: one HTTP request per attempt, run by the `ferryman.http` activity."""

from __future__ import annotations

from typing import Any

from ferryman.activities.http import HTTP_ACTIVITY_NAME, HttpParams
from ferryman.workflows.steps.base import StepKind, StepRun


class Http(StepKind):
    name = "http"
    params = HttpParams
    local_by_default = True  # one request, bounded by its timeout: short

    async def run(self, run: StepRun) -> Any:
        return await run.activity(HTTP_ACTIVITY_NAME, run.params)

    def timing(self, output: Any) -> dict[str, float]:
        timing = output.get("timing") if isinstance(output, dict) else None
        if not isinstance(timing, dict):
            return {}
        names = ("connect_ms", "ttfb_ms", "transfer_ms")
        return {name: float(timing[name]) for name in names if name in timing}

    def primary(self, output: Any) -> Any:
        if isinstance(output, dict):
            return output.get("json", output.get("text"))
        return output
