"""Job definitions the client and command-line tests share."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any


def job_id(prefix: str) -> str:
    """A job id of its own for each test (the tests of a module share an API and project)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def approval_job(job_id: str) -> dict[str, Any]:
    """Greets, waits for `approve`, then ends with both: open until it is signalled."""
    return {
        "id": job_id,
        "name": f"Approval {job_id}",
        "input_schema": {"type": "object", "properties": {"name": {"type": "string"}}},
        "steps": [
            {"id": "greet", "kind": "transform", "with": {"value": "Hi {{ input.name }}"}},
            {"id": "approval", "kind": "wait", "with": {"signal": "approve"}},
            {
                "id": "done",
                "kind": "transform",
                "depends_on": ["greet", "approval"],
                "with": {"value": "{{ steps.greet.output }}, by {{ steps.approval.output.by }}"},
            },
        ],
        "output": "{{ steps.done.output }}",
    }


def quick_job(job_id: str, fail: bool = False) -> dict[str, Any]:
    """One activity step that completes, or fails at once (not retryably)."""
    return {
        "id": job_id,
        "name": f"Quick {job_id}",
        "steps": [
            {
                "id": "work",
                "kind": "activity",
                "activity": "test.flaky",
                "with": {"value": "{{ input.value }}", "fatal": fail},
            }
        ],
        "output": "{{ steps.work.output.value }}",
    }


def parked_job(job_id: str, marker: Path) -> dict[str, Any]:
    """Dead-lettered until `marker` exists: a retryable failure outlives its two attempts."""
    return {
        "id": job_id,
        "name": f"Parked {job_id}",
        "steps": [
            {
                "id": "fragile",
                "kind": "activity",
                "activity": "test.until",
                "with": {"marker": str(marker), "value": "fixed"},
                "retry": {"max_attempts": 2, "backoff": "fixed", "initial_delay_secs": 0.1},
            },
        ],
        "output": "{{ steps.fragile.output.value }}",
    }


def llm_job(job_id: str, model: str) -> dict[str, Any]:
    """One streamed `llm` step: its tokens reach the run's chunk stream."""
    return {
        "id": job_id,
        "name": f"Streamed {job_id}",
        "steps": [
            {
                "id": "answer",
                "kind": "llm",
                "with": {
                    "model": model,
                    "stream": True,
                    "messages": [{"role": "user", "content": "go"}],
                },
            }
        ],
        "output": "{{ steps.answer.output }}",
    }
