"""The raw side's work: a no-op activity and N sequential steps of it, in plain temporalio.

Kept apart from `bench.workloads` on purpose: the sandbox re-imports a workflow's module and
everything it imports on every run, so a raw workflow that sat next to ferryman's activities
would pay for importing ferryman (jsonschema and pydantic among it) on each execution, a
cost no hand-written worker has.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

RAW_QUEUE = "bench-raw"


@activity.defn(name="bench.raw_noop")
async def raw_noop(value: int) -> int:
    return value + 1


@workflow.defn(name="RawSequential")
class RawSequential:
    @workflow.run
    async def run(self, steps: int) -> int:
        value = 0
        for _ in range(steps):
            value = await workflow.execute_activity(
                raw_noop, value, start_to_close_timeout=timedelta(seconds=60)
            )
        return value
