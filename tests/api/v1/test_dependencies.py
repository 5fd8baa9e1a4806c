"""`/v1/jobs/{id}/dependencies`: created, listed, read back as a run's snapshot and waited on by
a triggered run; every way a dependency is refused (unknown jobs, itself, cycles, twice, bad
bodies, another project, scopes)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ferryman.api.deps import Resources
from ferryman.api.executions.dependencies import CONDITIONS
from ferryman.statuses import Condition
from tests.support.api import Api
from tests.support.polling import eventually

DEPENDENCY_ID = re.compile(r"^dep_[0-9A-HJKMNP-TV-Z]{26}$")


def job(name: str = "job") -> dict[str, Any]:
    return {
        "id": f"{name}-{uuid.uuid4().hex[:10]}",
        "name": name,
        "steps": [{"id": "hello", "kind": "transform", "with": {"value": "hi"}}],
    }


async def jobs(api: Api, count: int, headers: dict[str, str] | None = None) -> list[str]:
    """`count` new jobs of the key's project (the admin's by default), their ids."""
    ids = []
    for n in range(count):
        created = await api.http.post("/v1/jobs", json=job(f"j{n}"), headers=headers or api.admin)
        assert created.status_code == 201, created.text
        ids.append(str(created.json()["id"]))
    return ids


async def depend(
    api: Api,
    job_id: str,
    depends_on: str,
    condition: str = "completed",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await api.http.post(
        f"/v1/jobs/{job_id}/dependencies",
        json={"depends_on_job_id": depends_on, "condition": condition},
        headers=headers or api.admin,
    )


async def listed(api: Api, job_id: str) -> list[dict[str, Any]]:
    response = await api.http.get(f"/v1/jobs/{job_id}/dependencies", headers=api.admin)
    assert response.status_code == 200, response.text
    return list(response.json())


def fromisoformat(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def refused(response: httpx.Response, status: int, code: str) -> str:
    """The error's sentence, once the status and code are the expected ones."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and body["request_id"], body
    return str(body["error"])


async def test_dependencies_are_created_listed_and_snapshotted_by_runs(api: Api) -> None:
    ship, pack, pay = await jobs(api, 3)
    resources: Resources = api.app.state.resources
    assert await resources.definitions.dependencies("default", ship) == []  # now cached
    before = datetime.now(UTC)
    first = await depend(api, ship, pack)
    second = await depend(api, ship, pay, "finished")
    assert first.status_code == 201 and second.status_code == 201, (first.text, second.text)
    created = [first.json(), second.json()]
    for body, (depends_on, condition) in zip(
        created, [(pack, "completed"), (pay, "finished")], strict=True
    ):
        assert set(body) == {"id", "job_id", "depends_on_job_id", "condition", "created_at"}
        assert DEPENDENCY_ID.match(body["id"]), body
        assert (body["job_id"], body["depends_on_job_id"]) == (ship, depends_on)
        assert body["condition"] == condition
        at = fromisoformat(body["created_at"])
        assert before - timedelta(seconds=1) <= at <= datetime.now(UTC)
    assert await listed(api, ship) == created
    assert await listed(api, pack) == []  # a dependency belongs to the job that waits
    # What a new run snapshots: the write cleared this process's cache at once.
    snapshot = await resources.definitions.dependencies("default", ship)
    fields = [(d.id, d.job_id, d.depends_on_job_id, d.condition, d.created_at) for d in snapshot]
    assert fields == [
        (b["id"], ship, b["depends_on_job_id"], b["condition"], fromisoformat(b["created_at"]))
        for b in created
    ]


async def test_a_triggered_run_waits_on_the_stored_dependencies(api: Api) -> None:
    first, then = await jobs(api, 2)
    created = (await depend(api, then, first)).json()
    run = (await api.http.post(f"/v1/jobs/{then}/trigger", json={}, headers=api.admin)).json()
    status_url = f"/v1/runs/{run['id']}/dependency-status"

    async def status() -> dict[str, Any]:
        return dict((await api.http.get(status_url, headers=api.admin)).json())

    waiting = await eventually(status, lambda s: s["status"] == "waiting", timeout=20)
    assert not waiting["dependencies_satisfied"]
    assert [d["id"] for d in waiting["dependencies"]] == [created["id"]]
    await api.http.post(f"/v1/jobs/{first}/trigger", json={}, headers=api.admin)
    done = await eventually(status, lambda s: s["status"] == "completed", timeout=30)
    assert done["dependencies_satisfied"]


def test_the_stored_conditions_are_the_ones_runs_evaluate() -> None:
    assert set(CONDITIONS) == {condition.value for condition in Condition}


async def test_a_dependency_on_failed_and_a_diamond_are_accepted(api: Api) -> None:
    top, left, right, bottom = await jobs(api, 4)
    for job_id, depends_on in ((top, left), (top, right), (left, bottom), (right, bottom)):
        response = await depend(api, job_id, depends_on, "failed")
        assert response.status_code == 201, response.text
    assert [d["depends_on_job_id"] for d in await listed(api, top)] == [left, right]


async def test_unknown_jobs_are_404(api: Api) -> None:
    (known,) = await jobs(api, 1)
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    sentence = refused(await depend(api, missing, known), 404, "workflow_not_found")
    assert missing in sentence
    sentence = refused(await depend(api, known, missing), 404, "workflow_not_found")
    assert missing in sentence and "depends_on_job_id" in sentence
    response = await api.http.get(f"/v1/jobs/{missing}/dependencies", headers=api.admin)
    assert missing in refused(response, 404, "workflow_not_found")
    assert await listed(api, known) == []


async def test_a_job_cannot_depend_on_itself(api: Api) -> None:
    (loner,) = await jobs(api, 1)
    sentence = refused(await depend(api, loner, loner), 422, "dependency_cycle")
    assert sentence == f"job {loner!r} cannot depend on itself: its runs would wait forever"
    assert await listed(api, loner) == []


async def test_a_dependency_that_closes_a_cycle_is_refused_naming_it(api: Api) -> None:
    a, b, c = await jobs(api, 3)
    assert (await depend(api, a, b)).status_code == 201
    response = await depend(api, b, a, "failed")
    sentence = refused(response, 422, "dependency_cycle")
    assert f"{b} -> {a} -> {b}" in sentence and "wait forever" in sentence
    assert response.json()["details"][0]["cycle"] == [b, a, b]
    assert (await depend(api, b, c)).status_code == 201
    response = await depend(api, c, a, "finished")
    sentence = refused(response, 422, "dependency_cycle")
    assert f"{c} -> {a} -> {b} -> {c}" in sentence
    assert response.json()["details"][0]["cycle"] == [c, a, b, c]
    assert await listed(api, c) == [] and len(await listed(api, b)) == 1


async def test_the_same_pair_twice_is_409_whatever_the_condition(api: Api) -> None:
    ship, pack = await jobs(api, 2)
    first = await depend(api, ship, pack)
    assert first.status_code == 201, first.text
    for condition in ("completed", "failed"):
        sentence = refused(await depend(api, ship, pack, condition), 409, "dependency_exists")
        assert sentence.startswith(f"job {ship!r} already depends on {pack!r}")
    assert await listed(api, ship) == [first.json()]


async def test_bad_bodies_are_422_naming_the_field(api: Api) -> None:
    ship, pack = await jobs(api, 2)
    url = f"/v1/jobs/{ship}/dependencies"
    condition = await api.http.post(
        url, json={"depends_on_job_id": pack, "condition": "done"}, headers=api.admin
    )
    sentence = refused(condition, 422, "validation_error")
    assert "condition" in sentence and "'completed', 'failed' or 'finished'" in sentence
    for body, field in (
        ({"depends_on_job_id": pack}, "condition"),
        ({"condition": "completed"}, "depends_on_job_id"),
        ({"depends_on_job_id": pack, "condition": "completed", "when": "now"}, "when"),
        ({"depends_on_job_id": "", "condition": "completed"}, "depends_on_job_id"),
        ({"depends_on_job_id": "x" * 64, "condition": "completed"}, "depends_on_job_id"),
        ({"depends_on_job_id": 7, "condition": "completed"}, "depends_on_job_id"),
    ):
        response = await api.http.post(url, json=body, headers=api.admin)
        assert field in refused(response, 422, "validation_error"), body
    not_json = await api.http.post(
        url, content=b"{", headers={**api.admin, "Content-Type": "application/json"}
    )
    refused(not_json, 400, "invalid_json")
    assert await listed(api, ship) == []


async def test_another_project_sees_404_and_cannot_depend_on_our_jobs(api: Api) -> None:
    ship, pack = await jobs(api, 2)
    assert (await depend(api, ship, pack)).status_code == 201
    other = await api.key_for(project=f"other-{uuid.uuid4().hex[:8]}", scopes=["admin"])
    response = await api.http.get(f"/v1/jobs/{ship}/dependencies", headers=other)
    refused(response, 404, "workflow_not_found")
    refused(await depend(api, ship, pack, headers=other), 404, "workflow_not_found")
    (theirs,) = await jobs(api, 1, headers=other)
    sentence = refused(await depend(api, theirs, ship, headers=other), 404, "workflow_not_found")
    assert "depends_on_job_id" in sentence
    assert [d["depends_on_job_id"] for d in await listed(api, ship)] == [pack]


async def test_creating_needs_write_and_listing_needs_read(api: Api) -> None:
    ship, pack = await jobs(api, 2)
    reader = await api.key_for(scopes=["workflows:read"])
    executor = await api.key_for(scopes=["workflows:execute", "executions:read"])
    for key in (reader, executor):
        sentence = refused(await depend(api, ship, pack, headers=key), 403, "insufficient_scope")
        assert "workflows:write" in sentence
    response = await api.http.get(f"/v1/jobs/{ship}/dependencies", headers=executor)
    assert "workflows:read" in refused(response, 403, "insufficient_scope")
    writer = await api.key_for(scopes=["workflows:write"])
    assert (await depend(api, ship, pack, headers=writer)).status_code == 201
    read = await api.http.get(f"/v1/jobs/{ship}/dependencies", headers=reader)
    assert read.status_code == 200 and len(read.json()) == 1
