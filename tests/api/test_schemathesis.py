"""Schemathesis against the OpenAPI document the app serves, with a valid admin key: no
request it generates gets a 5xx, and every response matches the schema documented for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.core.result import Err
from schemathesis.openapi import from_url

from ferryman.settings import Settings
from tests.support.api_process import ApiProcess

EXAMPLES_PER_OPERATION = 25
# An operation of an OpenAPI document; its type parameters are schemathesis' internals.
Operation = schemathesis.APIOperation[Any, Any, Any, Any]


@pytest_asyncio.fixture(scope="module")
async def live_api(
    base_settings: Settings, worker: None, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ApiProcess]:
    process = ApiProcess(base_settings, tmp_path_factory.mktemp("schemathesis"))
    # The session's worker runs its executions: controls are updates, which a worker answers.
    process.env["FERRYMAN_TASK_QUEUE"] = base_settings.task_queue
    await process.start()
    yield process
    process.kill()


def _seed(api: ApiProcess) -> dict[str, str]:
    """A workflow, an execution of it, a spare key and a schedule, so half the generated
    requests name things that exist instead of meeting 404s."""
    with httpx.Client(base_url=api.url, headers=api.headers, timeout=30) as http:
        steps = [{"id": "hold", "kind": "wait", "with": {"signal": "go"}}]
        http.post("/api/v1/workflows", json={"id": "gate", "name": "Gate", "steps": steps})
        created = http.post("/api/v1/executions", json={"workflow_id": "gate"}).json()
        key = http.post("/api/v1/keys", json={"name": "spare", "scopes": ["admin"]}).json()
        # Fires on new year's day only: nothing the schedule does reaches the session.
        schedule = http.post("/v1/schedules", json={"job_id": "gate", "cron": "0 0 1 1 *"}).json()
    return {
        "workflow_id": "gate",
        "job_id": "gate",
        "execution_id": created["id"],
        "run_id": created["id"],
        "checkpoint_id": f"chk_{created['id']}_0",
        "key_id": key["id"],
        "schedule_id": schedule["id"],
    }


def _name_known_things(case: schemathesis.Case[Operation], known: dict[str, str]) -> None:
    for name in case.path_parameters or {}:
        if name in known:
            case.path_parameters[name] = known[name]
    if isinstance(case.body, dict) and "workflow_id" in case.body:
        case.body["workflow_id"] = known["workflow_id"]


def test_every_operation_answers_within_its_schema(live_api: ApiProcess) -> None:
    known = _seed(live_api)
    schema = from_url(f"{live_api.url}/openapi.json")
    operations: list[Operation] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # an operation the document describes unreadably
        operations.append(result.ok())
    assert len(operations) > 20  # the whole API, found from the document itself
    for operation in operations:

        @given(case=operation.as_strategy(), existing=st.booleans())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def answers_within_schema(case: schemathesis.Case[Operation], existing: bool) -> None:
            # A live execution's streams stay open until the execution ends (tested in
            # test_api_events and the llm tests); here they meet only unknown ids.
            if existing and not case.operation.path.endswith(("/stream", "/stream/chunks")):
                _name_known_things(case, known)
            case.call_and_validate(
                base_url=live_api.url,
                headers=live_api.headers,
                checks=[not_a_server_error, response_schema_conformance],
            )

        answers_within_schema()
