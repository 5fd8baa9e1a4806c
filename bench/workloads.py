"""ferryman's side of the work: a no-op activity, and the definitions the scenarios run.

The raw side (`bench.raw_workloads`) is what a team would write by hand with temporalio;
these definitions have the same shapes, so the ratio is the cost of the facade and the
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


def http_definition(workflow_id: str) -> dict[str, Any]:
    """The throughput workload: three sequential `http` GETs of `input.url`."""
    steps: list[dict[str, Any]] = []
    for n in range(3):
        step: dict[str, Any] = {"id": f"get{n}", "kind": "http", "with": {"url": "{{ input.url }}"}}
        if n:
            step["depends_on"] = [f"get{n - 1}"]
        steps.append(step)
    return {
        "id": workflow_id,
        "name": "Three GETs",
        "steps": steps,
        "output": "{{ steps.get2.output.json }}",
    }


def gated_definition(workflow_id: str, limit: int | None, key: str = "k") -> dict[str, Any]:
    """One in-workflow step behind a concurrency `key` of `limit` slots (none: no key),
    so that a run holds its slot for as short a time as a run can and the gate is what a
    stream of them waits on."""
    document: dict[str, Any] = {
        "id": workflow_id,
        "name": "Gated" if limit else "Ungated",
        "steps": [{"id": "only", "kind": "transform", "with": {"value": 1}}],
        "output": "{{ steps.only.output }}",
    }
    if limit is not None:
        document["concurrency"] = {"limit": limit, "key": key}
    return document


def waiting_definition(workflow_id: str) -> dict[str, Any]:
    return {
        "id": workflow_id,
        "name": "Waits",
        "steps": [{"id": "gate", "kind": "wait", "with": {"signal": "go"}}],
    }
