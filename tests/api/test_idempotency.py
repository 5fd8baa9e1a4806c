"""Idempotency-Key on creates and stop: one execution per key, answers replayed."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from ferryman.api.executions.ids import new_execution_id
from ferryman.api.idempotency import body_hash
from ferryman.api.store import repository
from tests.support.api import Api
from tests.support.polling import eventually


async def workflow(api: Api, steps: list[dict[str, Any]] | None = None) -> str:
    workflow_id = f"id-{uuid.uuid4().hex[:8]}"
    await api.create_workflow(
        {
            "id": workflow_id,
            "name": "Once",
            "steps": steps or [{"id": "t", "kind": "transform", "with": {"value": 1}}],
        }
    )
    return workflow_id


async def total(api: Api, workflow_id: str) -> int:
    response = await api.http.get(
        "/api/v1/executions", params={"workflow_id": workflow_id}, headers=api.admin
    )
    return int(response.json()["total"])


async def test_same_key_same_body_gives_the_same_execution(api: Api) -> None:
    workflow_id = await workflow(api)
    headers = {**api.admin, "Idempotency-Key": f"k-{uuid.uuid4()}"}
    body = {"workflow_id": workflow_id, "input_data": {"a": 1}}
    first = await api.http.post("/api/v1/executions", json=body, headers=headers)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    execution_id = first.json()["id"]
    await eventually(lambda: api.execution(execution_id), lambda e: e["status"] == "completed")
    again = await api.http.post("/api/v1/executions", json=body, headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    different = await api.http.post(
        "/api/v1/executions", json={**body, "input_data": {"a": 2}}, headers=headers
    )
    assert different.status_code == 409 and "different request body" in different.json()["error"]
    assert await total(api, workflow_id) == 1


async def test_fifty_concurrent_duplicates_start_one_execution(api: Api) -> None:
    workflow_id = await workflow(api)
    key = f"k-{uuid.uuid4()}"
    responses = await asyncio.gather(
        *(
            api.http.post(
                f"/api/v1/workflows/{workflow_id}/run-async",
                json={"n": 1},
                headers={**api.admin, "Idempotency-Key": key},
            )
            for _ in range(50)
        )
    )
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["execution_id"] for r in responses}) == 1
    assert sum("Idempotent-Replayed" not in r.headers for r in responses) == 1
    await eventually(lambda: total(api, workflow_id), lambda n: n == 1)


async def test_keys_are_scoped_to_the_project_and_bounded(api: Api) -> None:
    workflow_id = await workflow(api)
    key = f"k-{uuid.uuid4()}"
    body = {"workflow_id": workflow_id, "idempotency_key": key}
    mine = await api.http.post("/api/v1/executions", json=body, headers=api.admin)
    again = await api.http.post("/api/v1/executions", json=body, headers=api.admin)
    assert again.json()["id"] == mine.json()["id"]
    other_project = await api.key_for(project=f"other-{uuid.uuid4().hex[:6]}")
    elsewhere = await api.http.post("/api/v1/executions", json=body, headers=other_project)
    assert elsewhere.status_code == 404  # the workflow is not theirs; the key did not leak
    too_long = await api.http.post(
        "/api/v1/executions",
        json={"workflow_id": workflow_id},
        headers={**api.admin, "Idempotency-Key": "x" * 257},
    )
    assert too_long.status_code == 422


async def test_refused_requests_leave_the_key_free(api: Api) -> None:
    workflow_id = await workflow(api)
    headers = {**api.admin, "Idempotency-Key": f"k-{uuid.uuid4()}"}
    body = {"workflow_id": workflow_id, "version": 9}
    refused = await api.http.post("/api/v1/executions", json=body, headers=headers)
    assert refused.status_code == 404
    fixed = await api.http.post(
        "/api/v1/executions", json={"workflow_id": workflow_id}, headers=headers
    )
    assert fixed.status_code == 201


async def test_any_failure_of_the_call_frees_the_key(api: Api) -> None:
    # Not only the refusals foreseen (an ApiError): a bug in the call frees the key too, so
    # the corrected request is not a 409.
    idempotency = api.app.state.resources.idempotency
    key = f"k-{uuid.uuid4()}"

    async def broken(execution_id: str) -> tuple[int, dict[str, Any]]:
        raise RuntimeError("a bug")

    async def works(execution_id: str) -> tuple[int, dict[str, Any]]:
        return 201, {"id": execution_id}

    with pytest.raises(RuntimeError):
        await idempotency.once("default", "executions", key, {"input_data": 1}, broken)
    answered = await idempotency.once("default", "executions", key, {"input_data": 2}, works)
    assert (answered.status_code, answered.replayed) == (201, False)


async def test_a_crash_between_the_key_and_the_start_is_healed_by_the_retry(api: Api) -> None:
    workflow_id = await workflow(api)
    key = f"k-{uuid.uuid4()}"
    body: dict[str, Any] = {
        "workflow_id": workflow_id,
        "input_data": {},
        "metadata": {},
        "version": None,
    }
    recorded = new_execution_id()
    # What a crashed API process leaves: the key's row, and no workflow started.
    async with api.app.state.resources.sessions() as session:
        await repository.reserve_idempotency_key(
            session, "default", "executions", key, body_hash("executions", body), recorded
        )
    retry = await api.http.post(
        "/api/v1/executions", json=body, headers={**api.admin, "Idempotency-Key": key}
    )
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == recorded
    await eventually(lambda: api.execution(recorded), lambda e: e["status"] == "completed")


async def test_stop_with_a_key_is_answered_once(api: Api) -> None:
    workflow_id = await workflow(api, [{"id": "g", "kind": "wait", "with": {"signal": "go"}}])
    execution_id = await api.run(workflow_id)
    headers = {**api.admin, "Idempotency-Key": f"stop-{uuid.uuid4()}"}
    first = await api.http.post(f"/api/v1/executions/{execution_id}/stop", headers=headers)
    await eventually(lambda: api.execution(execution_id), lambda e: e["status"] == "cancelled")
    again = await api.http.post(f"/api/v1/executions/{execution_id}/stop", headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    fresh = await api.http.post(f"/api/v1/executions/{execution_id}/stop", headers=api.admin)
    assert fresh.status_code == 400
