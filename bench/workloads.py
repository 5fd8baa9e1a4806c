"""The work both sides run: a no-op activity, and N sequential steps of it.

The raw side is what a team would write by hand with temporalio; the ferryman side is the
same shape as a definition, so the ratio is the cost of the facade and the interpreter.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import activity, workflow

from ferryman.activities.registry import step_activity

RAW_QUEUE = "bench-raw"


@step_activity("bench.noop")
async def ferryman_noop(params: dict[str, Any]) -> dict[str, int]:
    """Adds one: the cheapest activity that still carries data between steps."""
    return {"value": int(params.get("value", 0)) + 1}


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


def sequential_definition(workflow_id: str, steps: int) -> dict[str, Any]:
    """`steps` activity steps in a row, each reading the previous one's output."""
    document: list[dict[str, Any]] = []
    for n in range(steps):
        step: dict[str, Any] = {"id": f"s{n}", "kind": "activity", "activity": "bench.noop"}
        if n:
            step["depends_on"] = [f"s{n - 1}"]
            step["with"] = {"value": f"{{{{ steps.s{n - 1}.output.value }}}}"}
        document.append(step)
    return {
        "id": workflow_id,
        "name": f"{steps} steps",
        "steps": document,
        "output": f"{{{{ steps.s{steps - 1}.output.value }}}}",
    }


def waiting_definition(workflow_id: str) -> dict[str, Any]:
    return {
        "id": workflow_id,
        "name": "Waits",
        "steps": [{"id": "gate", "kind": "wait", "with": {"signal": "go"}}],
    }
