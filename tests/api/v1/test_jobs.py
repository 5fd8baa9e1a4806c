"""`/v1/jobs`: jobs, triggers and batch triggers over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import yaml

from tests.support.api import Api
from tests.support.polling import eventually

# The keys of seed 001's run object, all 38 of them.
RUN_KEYS = {
    "id", "job_id", "project_id", "status", "attempt", "payload", "result", "metadata",
    "error", "triggered_by", "scheduled_at", "started_at", "finished_at", "heartbeat_at",
    "next_retry_at", "expires_at", "parent_run_id", "priority", "idempotency_key",
    "job_version", "workflow_step_run_id", "max_attempts_override", "timeout_secs_override",
    "retry_backoff", "retry_initial_delay_secs", "retry_max_delay_secs", "execution_trace",
    "debug_mode", "continuation_of", "lineage_depth", "tags", "job_version_id", "created_by",
    "batch_id", "concurrency_key", "created_at",
    # Beyond the seed: the totals of the run's model calls (null without `llm` steps).
    "usage",
}  # fmt: skip
TRACE_KEYS = {
    "queue_wait_ms", "dequeue_ms", "connect_ms", "ttfb_ms", "transfer_ms", "total_ms",
    "dispatch_ms",
}  # fmt: skip


def job_id() -> str:
    return f"job-{uuid.uuid4().hex[:10]}"


def greeter(identifier: str) -> dict[str, Any]:
    return {
        "id": identifier,
        "name": "Greeter",
        "input_schema": {"type": "object", "properties": {"name": {"type": "string"}}},
        "defaults": {"retry": {"max_attempts": 4, "backoff": "linear", "initial_delay_secs": 2}},
        "presets": {"ada": {"name": "Ada"}},
        "steps": [
            {"id": "hello", "kind": "transform", "with": {"value": "hi {{ input.name }}"}},
        ],
        "output": "{{ steps.hello.output }}",
    }


async def run_of(api: Api, run_id: str) -> dict[str, Any]:
    response = await api.http.get(f"/v1/runs/{run_id}", headers=api.admin)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_jobs_are_workflow_definitions_with_their_run_defaults(api: Api) -> None:
    identifier = job_id()
    created = await api.http.post("/v1/jobs", json=greeter(identifier), headers=api.admin)
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["id"] == identifier and job["job_version"] == 1
    assert job["job_version_id"].startswith("jv_")
    assert job["defaults"]["max_attempts"] == 4 and job["defaults"]["retry_backoff"] == "linear"
    assert job["presets"] == {"ada": {"name": "Ada"}} and job["dead_letter"] is True
    # The same row as the executions surface's workflow.
    same = await api.http.get(f"/api/v1/workflows/{identifier}", headers=api.admin)
    assert same.json()["definition"] == job["definition"]
    as_yaml = greeter(job_id())
    posted = await api.http.post(
        "/v1/jobs",
        content=yaml.safe_dump(as_yaml),
        headers={**api.admin, "Content-Type": "application/yaml"},
    )
    assert posted.status_code == 201, posted.text
    listed = await api.http.get("/v1/jobs", headers=api.admin)
    assert {identifier, as_yaml["id"]} <= {j["id"] for j in listed.json()}
    read = await api.http.get(f"/v1/jobs/{identifier}", headers=api.admin)
    assert read.json() == job
    missing = await api.http.get("/v1/jobs/no-such-job", headers=api.admin)
    assert missing.status_code == 404 and missing.json()["code"] == "workflow_not_found"


async def test_a_trigger_fills_every_field_of_the_run(api: Api) -> None:
    identifier = job_id()
    job = (await api.http.post("/v1/jobs", json=greeter(identifier), headers=api.admin)).json()
    key = await api.key_for(scopes=["workflows:execute", "executions:read"])
    keys = (await api.http.get("/api/v1/keys", headers=api.admin)).json()["items"]
    key_id = next(k["id"] for k in keys if key["X-API-Key"].startswith(k["prefix"]))
    body = {
        "payload": {"name": "Grace"},
        "metadata": {"source": "test"},
        "tags": {"team": "core", "tier": "gold"},
        "priority": 7,
        "max_attempts_override": 2,
        "retry_backoff": "fixed",
        "retry_initial_delay_secs": 0.5,
        "debug_mode": True,
    }
    triggered = await api.http.post(f"/v1/jobs/{identifier}/trigger", json=body, headers=key)
    assert triggered.status_code == 201, triggered.text
    run = triggered.json()
    assert set(run) == RUN_KEYS and set(run["execution_trace"]) == TRACE_KEYS
    done = await eventually(lambda: run_of(api, run["id"]), lambda r: r["status"] == "completed")
    assert (done["job_id"], done["project_id"]) == (identifier, "default")
    assert done["payload"] == {"name": "Grace"} and done["result"] == "hi Grace"
    assert done["metadata"] == {"source": "test"} and done["tags"] == body["tags"]
    assert (done["priority"], done["triggered_by"], done["created_by"]) == (7, "manual", key_id)
    assert (done["job_version"], done["job_version_id"]) == (1, job["job_version_id"])
    assert done["max_attempts_override"] == 2 and done["timeout_secs_override"] is None
    assert done["retry_backoff"] == "fixed" and done["retry_initial_delay_secs"] == 0.5
    assert done["retry_max_delay_secs"] == 300.0  # the job's default, not overridden
    assert done["debug_mode"] is True and done["attempt"] == 1
    assert done["started_at"] <= done["finished_at"] and done["error"] is None
    trace = done["execution_trace"]
    assert trace["queue_wait_ms"] > 0 and trace["dequeue_ms"] > 0 and trace["total_ms"] > 0
    assert trace["total_ms"] >= trace["queue_wait_ms"]
    assert (done["continuation_of"], done["lineage_depth"], done["batch_id"]) == (None, 0, None)


async def test_a_trigger_with_an_idempotency_key_starts_one_run(api: Api) -> None:
    identifier = job_id()
    await api.http.post("/v1/jobs", json=greeter(identifier), headers=api.admin)
    body = {"payload": {"name": "Ada"}, "idempotency_key": f"k-{uuid.uuid4().hex}"}
    first = await api.http.post(f"/v1/jobs/{identifier}/trigger", json=body, headers=api.admin)
    again = await api.http.post(f"/v1/jobs/{identifier}/trigger", json=body, headers=api.admin)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["idempotency_key"] == body["idempotency_key"]
    other = await api.http.post(
        f"/v1/jobs/{identifier}/trigger",
        json={**body, "payload": {"name": "Bob"}},
        headers=api.admin,
    )
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    # Freed, the key starts a new run.
    reset = await api.http.delete(
        f"/v1/runs/{first.json()['id']}/idempotency-key", headers=api.admin
    )
    assert reset.json() == {"status": "reset", "run_id": first.json()["id"]}
    fresh = await api.http.post(f"/v1/jobs/{identifier}/trigger", json=body, headers=api.admin)
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]
    none = await api.http.delete(
        f"/v1/runs/{first.json()['id']}/idempotency-key", headers=api.admin
    )
    assert none.json()["status"] == "none"


async def test_batch_triggers_share_a_batch_and_a_bad_item_starts_none(api: Api) -> None:
    identifier = job_id()
    await api.http.post("/v1/jobs", json=greeter(identifier), headers=api.admin)
    items = [{"payload": {"name": name}} for name in ("a", "b", "c")]
    batch = await api.http.post(
        f"/v1/jobs/{identifier}/batch-trigger", json={"items": items}, headers=api.admin
    )
    assert batch.status_code == 201, batch.text
    batch_id = batch.json()["batch_id"]
    runs = batch.json()["runs"]
    assert len(runs) == 3 and {r["batch_id"] for r in runs} == {batch_id}
    listed = await eventually(
        lambda: api.http.get("/v1/runs", params={"batch_id": batch_id}, headers=api.admin),
        lambda r: len(r.json()) == 3,
    )
    assert {r["id"] for r in listed.json()} == {r["id"] for r in runs}
    before = await api.http.get("/v1/runs", params={"job_id": identifier}, headers=api.admin)
    bad = await api.http.post(
        f"/v1/jobs/{identifier}/batch-trigger",
        json={"items": [{"payload": {"name": "ok"}}, {"payload": {"name": 5}}]},
        headers=api.admin,
    )
    assert bad.status_code == 422 and bad.json()["code"] == "input_invalid"
    after = await api.http.get("/v1/runs", params={"job_id": identifier}, headers=api.admin)
    assert len(after.json()) == len(before.json())


async def batch(api: Api, job: str, *items: dict[str, Any]) -> Any:
    return await api.http.post(
        f"/v1/jobs/{job}/batch-trigger", json={"items": list(items)}, headers=api.admin
    )


async def test_a_batch_checks_every_idempotency_key_before_any_run_starts(api: Api) -> None:
    identifier = job_id()
    await api.http.post("/v1/jobs", json=greeter(identifier), headers=api.admin)
    keys = [f"k-{uuid.uuid4()}" for _ in range(3)]

    async def free(key: str) -> bool:
        """Whether `key` starts a new run (a refused batch must have left it unused)."""
        body = {"payload": {"name": f"free-{uuid.uuid4()}"}, "idempotency_key": key}
        response = await api.http.post(
            f"/v1/jobs/{identifier}/trigger", json=body, headers=api.admin
        )
        return response.status_code == 201 and "Idempotent-Replayed" not in response.headers

    def item(name: str, key: str) -> dict[str, Any]:
        return {"payload": {"name": name}, "idempotency_key": key}

    # The same key twice in one batch: refused before anything is reserved or started.
    twice = await batch(api, identifier, item("a", keys[0]), item("b", keys[1]), item("c", keys[0]))
    assert (twice.status_code, twice.json()["code"]) == (422, "validation_error"), twice.text
    assert "items.2.idempotency_key" in twice.json()["error"], twice.text
    assert await free(keys[1])
    # A key used before with another body: 409, and the items before it start nothing.
    used = await batch(api, identifier, item("a", keys[0]), item("z", keys[1]))
    assert (used.status_code, used.json()["code"]) == (409, "idempotency_key_reused"), used.text
    assert await free(keys[0])
    # A key used before with the same body answers that run again, beside the new ones.
    first = await api.http.post(
        f"/v1/jobs/{identifier}/trigger", json=item("same", keys[2]), headers=api.admin
    )
    again = await batch(api, identifier, item("new", f"k-{uuid.uuid4()}"), item("same", keys[2]))
    assert again.status_code == 201, again.text
    runs = again.json()["runs"]
    assert runs[1]["id"] == first.json()["id"] and runs[0]["batch_id"] == again.json()["batch_id"]


async def test_trigger_refusals(api: Api) -> None:
    identifier = job_id()
    await api.http.post("/v1/jobs", json=greeter(identifier), headers=api.admin)
    cases: list[tuple[str, Any, int, str]] = [
        (identifier, {"payload": {"name": 1}}, 422, "input_invalid"),
        (identifier, {"priority": 10_000}, 422, "validation_error"),
        (identifier, {"retry_backoff": "sometimes"}, 422, "validation_error"),
        (identifier, {"max_attempts_override": 0}, 422, "validation_error"),
        (identifier, {"surprise": True}, 422, "validation_error"),
        (identifier, {"tags": {"a": 1}}, 422, "validation_error"),
        (identifier, {"tags": {f"k{n}": "v" * 40 for n in range(30)}}, 422, "validation_error"),
        ("no-such-job", {}, 404, "workflow_not_found"),
    ]
    for job, body, status, code in cases:
        response = await api.http.post(f"/v1/jobs/{job}/trigger", json=body, headers=api.admin)
        assert (response.status_code, response.json()["code"]) == (status, code), (
            body,
            response.text,
        )
    await api.http.post(f"/api/v1/workflows/{identifier}/disable", headers=api.admin)
    disabled = await api.http.post(f"/v1/jobs/{identifier}/trigger", headers=api.admin)
    assert disabled.status_code == 409 and disabled.json()["code"] == "workflow_disabled"
    reader = await api.key_for(scopes=["executions:read"])
    refused = await api.http.post(f"/v1/jobs/{identifier}/trigger", headers=reader)
    assert refused.status_code == 403
