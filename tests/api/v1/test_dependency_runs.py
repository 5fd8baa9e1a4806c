"""Runs of a job with dependencies wait (`waiting`) until the latest run of each job they
depend on (in their batch, when they have one) meets the condition; `dependency-status`
tells the truth at every moment."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.api import Api
from tests.support.polling import eventually
from tests.support.runs import run_of, trigger


def slug(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def job(api: Api, prefix: str, steps: list[dict[str, Any]]) -> str:
    identifier = slug(prefix)
    await api.create_workflow({"id": identifier, "name": prefix, "steps": steps})
    return identifier


async def gated_job(api: Api) -> str:
    """Its runs finish when told: `go` with `{"fail": true}` fails them."""
    return await job(
        api,
        "upstream",
        [
            {"id": "gate", "kind": "wait", "with": {"signal": "go"}},
            {
                "id": "check",
                "kind": "activity",
                "activity": "test.flaky",
                "depends_on": ["gate"],
                "if": "steps.gate.output.fail",
                "with": {"fatal": True},
            },
        ],
    )


async def depend(api: Api, job_id: str, on: str, condition: str) -> dict[str, Any]:
    response = await api.http.post(
        f"/v1/jobs/{job_id}/dependencies",
        json={"depends_on_job_id": on, "condition": condition},
        headers=api.admin,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def status_of(api: Api, run_id: str) -> dict[str, Any]:
    response = await api.http.get(f"/v1/runs/{run_id}/dependency-status", headers=api.admin)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def go(api: Api, run_id: str, fail: bool = False) -> None:
    response = await api.http.post(
        f"/api/v1/executions/{run_id}/signal",
        json={"name": "go", "payload": {"fail": fail}},
        headers=api.admin,
    )
    assert response.status_code == 200, response.text


async def test_a_run_waits_until_its_dependencies_are_met(api: Api) -> None:
    extract = await gated_job(api)
    audit = await gated_job(api)
    publish = await job(api, "publish", [{"id": "out", "kind": "transform", "with": {"value": 1}}])
    on_extract = await depend(api, publish, extract, "completed")
    on_audit = await depend(api, publish, audit, "finished")
    assert on_audit["job_id"] == publish and on_audit["depends_on_job_id"] == audit

    run = await trigger(api, publish, payload={})
    status = await eventually(lambda: status_of(api, run["id"]), lambda s: s["status"] == "waiting")
    assert status["run_id"] == run["id"] and status["job_id"] == publish
    assert status["dependencies_satisfied"] is False
    by_job = {d["depends_on_job_id"]: d for d in status["dependencies"]}
    assert by_job[extract]["id"] == on_extract["id"]
    assert by_job[extract]["condition"] == "completed" and by_job[audit]["condition"] == "finished"
    assert by_job[extract]["latest_run_id"] is None  # no run of extract yet: not met
    assert (await run_of(api, run["id"]))["started_at"] is None

    first_extract = (await trigger(api, extract, payload={}))["id"]
    audit_run = (await trigger(api, audit, payload={}))["id"]
    await go(api, audit_run, fail=True)  # failed is finished
    await go(api, first_extract, fail=True)  # failed is not completed
    status = await eventually(
        lambda: status_of(api, run["id"]),
        lambda s: {d["latest_run_status"] for d in s["dependencies"]} == {"failed"},
    )
    by_job = {d["depends_on_job_id"]: d for d in status["dependencies"]}
    assert by_job[audit]["satisfied"] is True and by_job[extract]["satisfied"] is False
    assert status["dependencies_satisfied"] is False
    assert (await run_of(api, run["id"]))["status"] == "waiting"

    # A newer run of extract is now the latest: once it completes, the run goes ahead.
    second_extract = (await trigger(api, extract, payload={}))["id"]
    await go(api, second_extract)
    done = await eventually(lambda: run_of(api, run["id"]), lambda r: r["status"] == "completed")
    assert done["result"] is None and done["started_at"] is not None
    status = await status_of(api, run["id"])
    assert status["dependencies_satisfied"] is True
    by_job = {d["depends_on_job_id"]: d for d in status["dependencies"]}
    assert by_job[extract]["latest_run_id"] == second_extract


async def test_in_a_batch_only_runs_of_the_same_batch_count(api: Api) -> None:
    upstream = await job(api, "upstream", [{"id": "a", "kind": "transform", "with": {"value": 1}}])
    downstream = await job(api, "down", [{"id": "b", "kind": "transform", "with": {"value": 2}}])
    await depend(api, downstream, upstream, "completed")
    outside = (await trigger(api, upstream, payload={}))["id"]
    await eventually(lambda: run_of(api, outside), lambda r: r["status"] == "completed")

    response = await api.http.post(
        f"/v1/jobs/{downstream}/batch-trigger", json={"items": [{"payload": {}}]}, headers=api.admin
    )
    assert response.status_code == 201, response.text
    batched = response.json()["runs"][0]
    waiting = await eventually(
        lambda: status_of(api, batched["id"]), lambda s: s["status"] == "waiting"
    )
    # The completed run of upstream is in no batch: this run's batch has none yet.
    assert waiting["dependencies"][0]["latest_run_id"] is None

    response = await api.http.delete(f"/v1/runs/{batched['id']}", headers=api.admin)
    assert response.status_code == 200
    canceled = await eventually(lambda: run_of(api, batched["id"]), lambda r: r["finished_at"])
    assert canceled["status"] == "canceled"
    assert (await status_of(api, batched["id"]))["dependencies_satisfied"] is False


async def test_a_run_without_dependencies_is_satisfied_and_expiry_bounds_the_wait(
    api: Api,
) -> None:
    upstream = await gated_job(api)
    plain = await job(api, "plain", [{"id": "a", "kind": "transform", "with": {"value": 1}}])
    run = await trigger(api, plain, payload={})
    status = await status_of(api, run["id"])
    assert status["dependencies"] == [] and status["dependencies_satisfied"] is True

    await depend(api, plain, upstream, "completed")
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    doomed = await trigger(api, plain, payload={}, expires_at=soon)
    expired = await eventually(lambda: run_of(api, doomed["id"]), lambda r: r["finished_at"])
    assert expired["status"] == "expired"
    assert "waiting for its dependencies" in expired["error"]
