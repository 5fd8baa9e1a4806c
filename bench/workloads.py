"""ferryman's side of the work: a no-op activity, and definitions of N sequential steps of it.

The raw side (`bench.raw_workloads`) is what a team would write by hand with temporalio;
these definitions have the same shape, so the ratio is the cost of the facade and the
interpreter.
"""

from __future__ import annotations

from typing import Any

from ferryman.activities.registry import step_activity


@step_activity("bench.noop")
async def ferryman_noop(params: dict[str, Any]) -> dict[str, int]:
    """Adds one: the cheapest activity that still carries data between steps."""
    return {"value": int(params.get("value", 0)) + 1}


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
