"""The activity guard (activities/guard.py) on the session's worker: an attempt whose run
closes under it ends in one log line, not the SDK's traceback."""

from __future__ import annotations

import logging
import uuid
from collections.abc import MutableMapping
from typing import Any

import pytest
import structlog
from temporalio.client import Client

from tests.support.api import Api
from tests.support.polling import eventually


async def test_an_attempt_whose_run_is_terminated_ends_in_one_line(
    api: Api, temporal_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    workflow_id = f"abandon-{uuid.uuid4().hex[:8]}"
    step = {
        "id": "nap",
        "kind": "activity",
        "activity": "test.slow",
        "with": {"seconds": 60},
        "heartbeat_secs": 1,
    }
    await api.create_workflow({"id": workflow_id, "name": "Abandoned", "steps": [step]})
    execution_id = await api.run(workflow_id)
    await eventually(
        lambda: api.execution(execution_id, include_step_results="true"),
        lambda e: any(s["status"] == "running" for s in e["steps"] or []),
    )
    events: list[MutableMapping[str, Any]]
    with structlog.testing.capture_logs() as events:
        await temporal_client.get_workflow_handle(execution_id).terminate("gone")
        lines = await eventually(
            lambda: _lines(events, execution_id), lambda found: len(found) == 1
        )
    assert lines[0]["reason"] == "its run is closed" and lines[0]["activity"] == "test.slow"
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING and r.exc_info]
    assert not loud, [r.getMessage() for r in loud]


async def _lines(
    events: list[MutableMapping[str, Any]], execution_id: str
) -> list[MutableMapping[str, Any]]:
    return [
        e
        for e in events
        if e["event"] == "step attempt abandoned" and e["execution_id"] == execution_id
    ]
