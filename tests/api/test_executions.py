"""Executions over HTTP against the real dev server and an in-process worker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from temporalio.client import (
    Client,
    FetchWorkflowHistoryEventsInput,
    Interceptor,
    OutboundInterceptor,
    WorkflowHistoryEventAsyncIterator,
)

from ferryman.api.executions import Executions
from tests.support.api import Api
from tests.support.paths import ROOT
from tests.support.polling import eventually


def slug() -> str:
    return f"ex-{uuid.uuid4().hex[:10]}"


async def status_of(api: Api, execution_id: str) -> str:
    return str((await api.execution(execution_id))["status"])


def onboarding(workflow_id: str, target: str) -> dict[str, Any]:
    """http, transform, sleep and wait steps with two parallel branches."""
    return {
        "id": workflow_id,
        "name": "Onboarding",
        "input_schema": {
            "type": "object",
            "required": ["user"],
            "properties": {"user": {"type": "string"}},
        },
        "steps": [
            {
                "id": "profile",
                "kind": "http",
                "with": {"url": f"{target}/users/{{{{ input.user }}}}"},
            },
            {"id": "cooldown", "kind": "sleep", "with": {"seconds": 1}},
            {
                "id": "greeting",
                "kind": "transform",
                "depends_on": ["profile"],
                "with": {"value": "Hi {{ steps.profile.output.json.name }}"},
            },
            {"id": "approval", "kind": "wait", "with": {"signal": "approve"}},
            {
                "id": "summary",
                "kind": "transform",
                "depends_on": ["greeting", "cooldown", "approval"],
                "if": "steps.approval.output.approved",
                "with": {
                    "value": {
                        "text": "{{ steps.greeting.output }}",
                        "by": "{{ steps.approval.output.by }}",
                    }
                },
            },
        ],
        "output": "{{ steps.summary.output }}",
    }


async def test_a_full_execution_with_signal_pause_and_resume(api: Api, http_target: str) -> None:
    workflow_id = slug()
    await api.create_workflow(onboarding(workflow_id, http_target))
    response = await api.http.post(
        "/api/v1/executions",
        json={"workflow_id": workflow_id, "input_data": {"user": "ada"}, "metadata": {"team": "x"}},
        headers=api.admin,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    execution_id = created["id"]
    assert created["execution_id"] == execution_id and execution_id.startswith("exec_")
    assert created["status"] == "queued"

    await eventually(lambda: status_of(api, execution_id), lambda s: s == "waiting")
    paused = await api.http.post(f"/api/v1/executions/{execution_id}/pause", headers=api.admin)
    assert paused.json() == {"execution_id": execution_id, "status": "paused"}
    signal = await api.http.post(
        f"/api/v1/executions/{execution_id}/signal",
        json={"name": "approve", "payload": {"approved": True, "by": "grace"}},
        headers=api.admin,
    )
    assert signal.status_code == 200, signal.text
    held = await eventually(
        lambda: api.execution(execution_id, include_step_results="true"),
        lambda e: e["step_outputs"]["approval"]["status"] == "completed",
    )
    assert held["status"] == "paused"
    assert held["step_outputs"]["summary"]["status"] == "pending"

    resumed = await api.http.post(f"/api/v1/executions/{execution_id}/resume", headers=api.admin)
    # The state after the change, as the next read sees it (its `nap` sleep still waits).
    assert resumed.json()["status"] == (await api.execution(execution_id))["status"] == "waiting"
    done = await eventually(
        lambda: api.execution(execution_id, include_step_results="true"),
        lambda e: e["status"] == "completed",
    )
    assert done["output"] == done["output_data"] == {"text": "Hi Ada", "by": "grace"}
    assert done["input_data"] == done["inputs"] == {"user": "ada"}
    assert done["workflow_name"] == "Onboarding" and done["version"] == 1
    assert done["metadata"] == {"team": "x"}
    assert done["completed_at"] and done["started_at"] and done["error"] is None
    profile = done["step_outputs"]["profile"]
    assert profile["output"]["status"] == 200
    assert profile["primary"]["name"] == "Ada"
    assert profile["output"]["json"]["key"] == f"{execution_id}:profile"
    assert [s["step_id"] for s in done["steps"]] == [
        "profile",
        "cooldown",
        "greeting",
        "approval",
        "summary",
    ]
    assert all(s["status"] == "completed" for s in done["steps"])
    names = [c["name"] for c in done["checkpoints"]]
    assert names[0] == "start" and sorted(names[1:]) == sorted(s["step_id"] for s in done["steps"])
    assert done["checkpoints"][0]["id"] == f"chk_{execution_id}_0"

    polled = await api.execution(execution_id)
    assert polled["steps"] is None
    assert polled["step_outputs"] == done["step_outputs"]  # all finished: the same


class HistoryReads(Interceptor):
    """Counts the history reads of the client it is installed on."""

    def __init__(self) -> None:
        self.count = 0

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Counting(next, self)


class _Counting(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, reads: HistoryReads) -> None:
        super().__init__(next)
        self.reads = reads

    def fetch_workflow_history_events(
        self, input: FetchWorkflowHistoryEventsInput
    ) -> WorkflowHistoryEventAsyncIterator:
        self.reads.count += 1
        return super().fetch_workflow_history_events(input)


@asynccontextmanager
async def counting_history_reads(api: Api) -> AsyncIterator[HistoryReads]:
    """While in it, the app's execution domain talks to Temporal through a client that
    counts history reads."""
    resources = api.app.state.resources
    reads = HistoryReads()
    client = Client(**{**resources.client.config(), "interceptors": [reads]})
    original = resources.executions
    resources.executions = Executions.create(client, resources.settings, resources.definitions)
    try:
        yield reads
    finally:
        resources.executions = original


def outputs_workflow(workflow_id: str, target: str) -> dict[str, Any]:
    return {
        "id": workflow_id,
        "name": "Outputs",
        "steps": [
            {"id": "profile", "kind": "http", "with": {"url": f"{target}/users/ada"}},
            {"id": "big", "kind": "transform", "with": {"value": "{{ 'x' * 3000 }}"}},
            {"id": "approval", "kind": "wait", "with": {"signal": "approve"}},
            {
                "id": "after",
                "kind": "transform",
                "depends_on": ["approval", "profile", "big"],
                "with": {"value": "{{ steps.approval.output.by }}"},
            },
        ],
        "output": "{{ steps.after.output }}",
    }


async def test_a_plain_get_shows_step_outputs_from_the_memo_without_a_history_read(
    api: Api, http_target: str
) -> None:
    workflow_id = slug()
    await api.create_workflow(outputs_workflow(workflow_id, http_target))
    execution_id = await api.run(workflow_id)
    await eventually(
        lambda: api.execution(execution_id),
        lambda e: e["status"] == "waiting" and len(e["checkpoints"]) == 3,
    )
    async with counting_history_reads(api) as reads:
        plain = await api.execution(execution_id)
        assert reads.count == 0  # seed 003's step_outputs, as cheap to poll as the status
        full = await api.execution(execution_id, include_step_results="true")
        assert reads.count > 0  # the counter sees the reads that do happen
    assert plain["steps"] is None and full["steps"] is not None
    outputs = plain["step_outputs"]
    assert list(outputs) == [c["name"] for c in plain["checkpoints"][1:]]  # finished ones
    assert set(outputs) == {"profile", "big"}
    assert outputs["profile"] == full["step_outputs"]["profile"]
    profile = outputs["profile"]
    assert profile["status"] == "completed" and profile["output"]["status"] == 200
    assert profile["primary"] == {"name": "Ada", "key": f"{execution_id}:profile"}
    assert profile["metadata"]["kind"] == "http" and profile["metadata"]["attempts"] == 1
    assert profile["started_at"] and profile["completed_at"]
    # Large values are elided as in lists; `include_step_results=true` reads them whole.
    assert outputs["big"]["output"] == {"_elided": True, "bytes": 3002}
    assert outputs["big"]["primary"] == outputs["big"]["output"]
    assert full["step_outputs"]["big"]["output"] == "x" * 3000
    # A rollback discards later steps: their outputs leave the memo too.
    rolled = await api.http.post(
        f"/api/v1/executions/{execution_id}/rollback",
        json={"checkpoint_id": f"chk_{execution_id}_0"},
        headers=api.admin,
    )
    assert rolled.status_code == 200, rolled.text
    await eventually(lambda: api.execution(execution_id), lambda e: e["step_outputs"] == {})
    await api.http.post(f"/api/v1/executions/{execution_id}/resume", headers=api.admin)
    await eventually(lambda: api.execution(execution_id), lambda e: len(e["step_outputs"]) == 2)
    await api.http.post(
        f"/api/v1/executions/{execution_id}/signal",
        json={"name": "approve", "payload": {"by": "grace"}},
        headers=api.admin,
    )
    done = await eventually(
        lambda: api.execution(execution_id), lambda e: e["status"] == "completed"
    )
    assert set(done["step_outputs"]) == {"profile", "big", "approval", "after"}
    assert done["step_outputs"]["approval"]["output"] == {"by": "grace"}
    assert done["step_outputs"]["after"]["primary"] == "grace" == done["output"]
    # A replay from a checkpoint shows the steps it keeps at once, from its start memo.
    kept = next(c for c in done["checkpoints"] if c["name"] == "approval")
    replayed = await api.http.post(
        f"/api/v1/executions/{execution_id}/replay",
        json={"checkpoint_id": kept["id"]},
        headers=api.admin,
    )
    replay = await api.execution(replayed.json()["id"])
    assert {"profile", "big", "approval"} <= set(replay["step_outputs"])
    assert replay["step_outputs"]["approval"]["output"] == {"by": "grace"}


async def test_run_async_accepts_the_input_as_body(api: Api) -> None:
    workflow_id = slug()
    await api.create_workflow(
        {
            "id": workflow_id,
            "name": "Echo",
            "steps": [{"id": "e", "kind": "transform", "with": {"value": "{{ input.x }}"}}],
            "output": "{{ steps.e.output }}",
        }
    )
    response = await api.http.post(
        f"/api/v1/workflows/{workflow_id}/run-async", json={"x": 42}, headers=api.admin
    )
    assert response.status_code == 202, response.text
    execution_id = response.json()["execution_id"]
    done = await eventually(
        lambda: api.execution(execution_id), lambda e: e["status"] == "completed"
    )
    assert done["output"] == 42


async def test_failures_are_reported_with_error_and_cause(api: Api) -> None:
    workflow_id = slug()
    await api.create_workflow(
        {
            "id": workflow_id,
            "name": "Fails",
            "steps": [
                {
                    "id": "boom",
                    "kind": "activity",
                    "activity": "test.flaky",
                    "with": {"fatal": True},
                }
            ],
        }
    )
    execution_id = await api.run(workflow_id)
    failed = await eventually(
        lambda: api.execution(execution_id, include_step_results="true"),
        lambda e: e["status"] == "failed",
    )
    assert failed["error"] == "failed"
    assert "step 'boom' failed" in failed["error_cause"]
    assert failed["steps"][0]["status"] == "failed"


async def test_stop_cancels_and_then_answers_400(api: Api) -> None:
    workflow_id = slug()
    await api.create_workflow(
        {
            "id": workflow_id,
            "name": "Slow",
            "steps": [
                {
                    "id": "slow",
                    "kind": "activity",
                    "activity": "test.slow",
                    "heartbeat_secs": 2,
                    "with": {"seconds": 60},
                }
            ],
        }
    )
    execution_id = await api.run(workflow_id)
    await eventually(lambda: status_of(api, execution_id), lambda s: s == "running")
    stopped = await api.http.post(f"/api/v1/executions/{execution_id}/stop", headers=api.admin)
    assert stopped.json() == {"execution_id": execution_id, "status": "cancelled"}
    # No wait: the very next calls see the stop.
    assert await status_of(api, execution_id) == "cancelled"
    again = await api.http.post(f"/api/v1/executions/{execution_id}/stop", headers=api.admin)
    assert again.status_code == 400 and again.json()["code"] == "execution_finished"
    assert again.json()["error"] == "the execution was cancelled; it cannot be stopped"


async def test_force_stop_terminates_and_reads_as_cancelled(api: Api) -> None:
    workflow_id = slug()
    await api.create_workflow(
        {
            "id": workflow_id,
            "name": "Gate",
            "steps": [{"id": "gate", "kind": "wait", "with": {"signal": "never"}}],
        }
    )
    execution_id = await api.run(workflow_id)
    await eventually(lambda: status_of(api, execution_id), lambda s: s == "waiting")
    forced = await api.http.post(
        f"/api/v1/executions/{execution_id}/stop", params={"force": "true"}, headers=api.admin
    )
    assert forced.status_code == 200
    assert await status_of(api, execution_id) == "cancelled"
    listed = await api.http.get(
        "/api/v1/executions",
        params={"workflow_id": workflow_id, "status": "cancelled"},
        headers=api.admin,
    )
    assert [row["id"] for row in listed.json()["items"]] == [execution_id]


async def test_control_is_validated_against_the_current_status(api: Api) -> None:
    workflow_id = slug()
    await api.create_workflow(
        {
            "id": workflow_id,
            "name": "Gate",
            "steps": [{"id": "gate", "kind": "wait", "with": {"signal": "go"}}],
        }
    )
    execution_id = await api.run(workflow_id)
    await eventually(lambda: status_of(api, execution_id), lambda s: s == "waiting")
    resume = await api.http.post(f"/api/v1/executions/{execution_id}/resume", headers=api.admin)
    assert resume.status_code == 409
    assert "waiting" in resume.json()["error"]
    await api.http.post(f"/api/v1/executions/{execution_id}/pause", headers=api.admin)
    twice = await api.http.post(f"/api/v1/executions/{execution_id}/pause", headers=api.admin)
    assert twice.status_code == 409 and "paused" in twice.json()["error"]
    unknown_signal = await api.http.post(
        f"/api/v1/executions/{execution_id}/signal", json={"name": "nope"}, headers=api.admin
    )
    assert unknown_signal.status_code == 404
    await api.http.post(f"/api/v1/executions/{execution_id}/resume", headers=api.admin)
    await api.http.post(
        f"/api/v1/executions/{execution_id}/signal", json={"name": "go"}, headers=api.admin
    )
    await eventually(lambda: status_of(api, execution_id), lambda s: s == "completed")
    for action in ("pause", "resume"):
        late = await api.http.post(f"/api/v1/executions/{execution_id}/{action}", headers=api.admin)
        assert late.status_code == 409
        assert late.json()["error"] == "the execution has completed; it can no longer be changed"
    closed = await api.http.post(
        f"/api/v1/executions/{execution_id}/signal", json={"name": "go"}, headers=api.admin
    )
    assert closed.status_code == 409


async def test_inputs_are_checked_before_anything_reaches_temporal(api: Api) -> None:
    workflow_id = slug()
    await api.create_workflow(onboarding(workflow_id, "http://127.0.0.1:9"))
    wrong = await api.http.post(
        "/api/v1/executions",
        json={"workflow_id": workflow_id, "input_data": {"user": 7}},
        headers=api.admin,
    )
    assert wrong.status_code == 422
    assert "input['user']" in wrong.json()["error"]
    huge = await api.http.post(
        "/api/v1/executions",
        json={"workflow_id": workflow_id, "input_data": {"user": "x" * 300_000}},
        headers=api.admin,
    )
    assert huge.status_code == 413
    assert "over the limit" in huge.json()["error"]
    body = b'{"workflow_id": "x", "input_data": {"user": "' + b"y" * 2_100_000 + b'"}}'
    too_big = await api.http.post(
        "/api/v1/executions",
        content=body,
        headers={**api.admin, "Content-Type": "application/json"},
    )
    assert too_big.status_code == 413
    assert too_big.json()["request_id"]
    missing = await api.http.post(
        "/api/v1/executions", json={"workflow_id": slug()}, headers=api.admin
    )
    assert missing.status_code == 404
    no_version = await api.http.post(
        "/api/v1/executions", json={"workflow_id": workflow_id, "version": 5}, headers=api.admin
    )
    assert no_version.status_code == 404
    extra = await api.http.post(
        "/api/v1/executions", json={"workflow_id": workflow_id, "surprise": 1}, headers=api.admin
    )
    assert extra.status_code == 422
    malformed = await api.http.post(
        "/api/v1/executions",
        content=b'{"workflow_id": ',
        headers={**api.admin, "Content-Type": "application/json"},
    )
    assert malformed.status_code == 400


async def test_lists_filter_paginate_and_stay_in_the_project(api: Api) -> None:
    workflow_id = slug()
    await api.create_workflow(
        {
            "id": workflow_id,
            "name": "Quick",
            "steps": [{"id": "t", "kind": "transform", "with": {"value": 1}}],
        }
    )
    ids = [await api.run(workflow_id) for _ in range(5)]
    await eventually(
        lambda: api.http.get(
            "/api/v1/executions",
            params={"workflow_id": workflow_id, "status": "completed"},
            headers=api.admin,
        ),
        lambda r: r.json()["total"] == 5,
    )
    first = (
        await api.http.get(
            "/api/v1/executions",
            params={"workflow_id": workflow_id, "page": 1, "page_size": 2},
            headers=api.admin,
        )
    ).json()
    second = (
        await api.http.get(
            "/api/v1/executions",
            params={"workflow_id": workflow_id, "page": 2, "page_size": 2},
            headers=api.admin,
        )
    ).json()
    assert (first["total"], first["page"], first["page_size"]) == (5, 1, 2)
    paged = [row["id"] for row in first["items"] + second["items"]]
    assert len(set(paged)) == 4 and set(paged) <= set(ids)
    row = first["items"][0]
    assert row["workflow_name"] == "Quick" and row["status"] == "completed"
    assert row["checkpoints"] and row["steps"] is None

    seen: list[str] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"workflow_id": workflow_id, "limit": 2}
        if after:
            params["after"] = after
        page = (await api.http.get("/api/v1/executions", params=params, headers=api.admin)).json()
        assert page["total"] == 5
        seen += [r["id"] for r in page["items"]]
        after = page["next_cursor"]
        if not after:
            break
    assert sorted(seen) == sorted(ids)
    by_id = (
        await api.http.get(
            "/api/v1/executions",
            params={"workflow_id": workflow_id, "limit": 10, "after": seen[1]},
            headers=api.admin,
        )
    ).json()
    assert [r["id"] for r in by_id["items"]] == seen[2:]

    other = await api.key_for(project=f"other-{uuid.uuid4().hex[:6]}")
    foreign = await api.http.get("/api/v1/executions", headers=other)
    assert foreign.json()["total"] == 0
    assert (await api.http.get(f"/api/v1/executions/{ids[0]}", headers=other)).status_code == 404
    for action in ("stop", "pause", "resume"):
        response = await api.http.post(f"/api/v1/executions/{ids[0]}/{action}", headers=other)
        assert response.status_code == 404


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"status": "exploded"}, "status"),
        ({"workflow_id": "x' OR FerrymanProject != 'y"}, "workflow slug"),
        ({"page": 11, "page_size": 100}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"after": "exec_01AAAAAAAAAAAAAAAAAAAAAAAA"}, "not an execution in this list"),
        ({"after": "c1.!!!"}, "cursor"),
    ],
)
async def test_list_rejects_bad_filters_with_422(
    api: Api, params: dict[str, Any], fragment: str
) -> None:
    response = await api.http.get("/api/v1/executions", params=params, headers=api.admin)
    assert response.status_code in (400, 422), response.text
    assert fragment in response.json()["error"]


@pytest.mark.parametrize("execution_id", ["exec_01AAAAAAAAAAAAAAAAAAAAAAAA", "nope", "exec_%00x"])
async def test_unknown_executions_are_404(api: Api, execution_id: str) -> None:
    response = await api.http.get(f"/api/v1/executions/{execution_id}", headers=api.admin)
    assert response.status_code == 404
    assert response.json()["error"] == "execution not found"


async def test_auth_failures_use_the_envelope(api: Api) -> None:
    for headers in ({}, {"X-API-Key": "fm_wrong"}, {"Authorization": "Bearer fm_wrong"}):
        response = await api.http.get("/api/v1/executions", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "Invalid or missing API key"
        assert response.json()["request_id"] == response.headers["X-Request-ID"]
    bearer = await api.http.get(
        "/api/v1/executions", headers={"Authorization": f"Bearer {api.admin['X-API-Key']}"}
    )
    assert bearer.status_code == 200
    echoed = await api.http.get("/healthz", headers={"X-Request-ID": "trace-123"})
    assert echoed.headers["X-Request-ID"] == "trace-123"
    reader = await api.key_for(scopes=["executions:read"])
    refused = await api.http.post("/api/v1/executions", json={"workflow_id": "x"}, headers=reader)
    assert refused.status_code == 403 and "workflows:execute" in refused.json()["error"]


async def test_health_and_openapi(api: Api) -> None:
    assert (await api.http.get("/healthz")).json() == {"status": "ok", "checks": {}}
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"temporal": "ok", "database": "ok"}
    document = (await api.http.get("/openapi.json")).json()
    for path in (
        "/api/v1/executions",
        "/api/v1/executions/{execution_id}",
        "/api/v1/executions/{execution_id}/stop",
        "/api/v1/workflows/{workflow_id}/run-async",
    ):
        assert path in document["paths"]
    schemas = document["components"]["schemas"]
    assert "WorkflowDefinition" in schemas and "Step" in schemas
    assert schemas["CreateExecution"]["examples"]


async def test_the_quick_start_example_runs(api: Api, http_target: str) -> None:
    import yaml

    document = yaml.safe_load((ROOT / "examples/hello.yaml").read_text())
    document["id"] = slug()
    for step in document["steps"]:
        if step["kind"] == "sleep":
            step["with"]["seconds"] = 0.1
    await api.create_workflow(document)
    execution_id = await api.run(document["id"], {"name": "Ada", "api_url": http_target})
    signal = await api.http.post(
        f"/api/v1/executions/{execution_id}/signal",
        json={"name": "approve", "payload": {"approved": True, "by": "you"}},
        headers=api.admin,
    )
    assert signal.status_code == 200
    done = await eventually(
        lambda: api.execution(execution_id), lambda e: e["status"] == "completed"
    )
    assert done["output"] == {"message": "Hello Ada, ferryman says ok", "approved_by": "you"}
