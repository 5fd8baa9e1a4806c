"""The raw side's workflows, in plain temporalio: N sequential no-op steps (for the step
overhead) and three sequential HTTP GETs (the throughput workload; the facade runs it too).

Kept apart from `bench.workloads` on purpose: the sandbox re-imports a workflow's module and
everything it imports on every run, so a raw workflow that sat next to ferryman's activities
would pay for importing ferryman (jsonschema and pydantic among it) on each execution, a
cost no hand-written worker has.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.raw_activities import raw_get, raw_noop

RAW_QUEUE = "bench-raw"
FACADE_QUEUE = "bench-facade"
TIMEOUT = timedelta(seconds=60)


@workflow.defn(name="RawSequential")
class RawSequential:
    @workflow.run
    async def run(self, steps: int) -> int:
        value = 0
        for _ in range(steps):
            value = await workflow.execute_activity(raw_noop, value, start_to_close_timeout=TIMEOUT)
        return value


@workflow.defn(name="RawThreeGets")
class RawThreeGets:
    @workflow.run
    async def run(self, url: str) -> Any:
        body = None
        for _ in range(3):
            body = await workflow.execute_activity(raw_get, url, start_to_close_timeout=TIMEOUT)
        return body
