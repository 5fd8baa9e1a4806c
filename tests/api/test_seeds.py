"""The four seed documents' examples, held to the OpenAPI document and to live answers.

Every key of every seed example object must be a property of the schema our OpenAPI document
gives that answer (its JSON type one the property allows), and a live answer of the endpoint
must carry it with a value of that type (or null). Where API.md deliberately differs from a
seed (statuses per surface, `items` for seed 002's `executions`), the test says so.
`/work/notes/seed-audit.md` lists what was checked."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ferryman.api.app import create_app
from ferryman.api.surfaces.v1.schemas import Run
from ferryman.settings import Settings
from tests.api import seed_examples as seed
from tests.support.api import Api
from tests.support.llm_server import LlmServer, Reply, ToolCall
from tests.support.paths import ROOT
from tests.support.polling import eventually

Schema = dict[str, Any]

# (method, path, status) -> the seed example its answer carries.
ANSWERS: list[tuple[str, str, str, Any]] = [
    ("get", "/api/v1/executions", "200", seed.S000_LIST),
    ("get", "/api/v1/executions/{execution_id}", "200", seed.S000_GET),
    ("post", "/api/v1/executions", "201", seed.S000_CREATED),
    ("get", "/v1/runs", "200", [seed.RUN]),
    ("get", "/v1/runs/dlq", "200", [seed.RUN]),
    ("post", "/v1/runs/bulk-cancel", "200", seed.BULK_RESULT),
    ("get", "/v1/runs/{run_id}", "200", seed.RUN),
    ("post", "/v1/runs/{run_id}/replay", "201", seed.RUN),
    ("post", "/v1/runs/{run_id}/dlq-replay", "200", seed.RUN),
    ("post", "/v1/runs/bulk-dlq-replay", "200", seed.DLQ_REPLAYED),
    ("post", "/v1/runs/bulk-cancel-all", "200", seed.BULK_RESULT),
    ("post", "/v1/runs/bulk-replay", "201", [seed.RUN]),
    ("get", "/v1/runs/{run_id}/children", "200", [seed.RUN]),
    ("get", "/v1/runs/{run_id}/events", "200", [seed.EVENT]),
    ("get", "/v1/runs/{run_id}/checkpoints", "200", [seed.CHECKPOINT]),
    ("get", "/v1/runs/{run_id}/usage", "200", [seed.USAGE]),
    ("get", "/v1/runs/{run_id}/tool-calls", "200", [seed.TOOL_CALL]),
    ("get", "/v1/runs/{run_id}/outputs", "200", [seed.OUTPUT]),
    ("get", "/v1/runs/{run_id}/debug-bundle", "200", seed.DEBUG_BUNDLE),
    ("get", "/v1/runs/{run_id}/lineage", "200", [seed.RUN]),
    ("get", "/v1/runs/{run_id}/dependency-status", "200", seed.DEPENDENCY_STATUS),
    ("delete", "/v1/runs/{run_id}/idempotency-key", "200", seed.IDEMPOTENCY_RESET),
    ("post", "/v1/runs/{run_id}/reschedule", "200", seed.RUN),
    ("post", "/v1/runs/{run_id}/pause", "200", seed.RUN),
    ("post", "/v1/runs/{run_id}/resume", "200", seed.RUN),
    ("post", "/v1/runs/{run_id}/restart", "201", seed.RUN),
    ("post", "/api/v1/workflows/{workflow_id}/run-async", "202", seed.S002_ACCEPTED),
    ("get", "/api/v1/executions", "200", {"items": [seed.S002_EXECUTION]}),
    ("get", "/api/v1/executions/{execution_id}", "200", seed.S002_GET_WITH_STEPS),
    ("post", "/api/v1/executions/{execution_id}/stop", "200", seed.S002_STOPPED),
    ("get", "/api/v1/executions/{execution_id}", "200", seed.S003_GET | seed.S003_MORE),
    ("get", "/api/v1/executions/{execution_id}", "401", seed.S003_UNAUTHORIZED),
    ("get", "/api/v1/executions/{execution_id}", "404", seed.S003_NOT_FOUND),
    ("post", "/v1/runs/bulk-dlq-replay", "422", seed.ERROR),
]
# (method, path) -> the seed example of its request body.
BODIES: list[tuple[str, str, Any]] = [
    ("post", "/api/v1/executions", seed.S000_CREATE_BODY),
    ("post", "/api/v1/executions/{execution_id}/replay", seed.S000_CHECKPOINT_BODY),
    ("post", "/api/v1/executions/{execution_id}/rollback", seed.S000_CHECKPOINT_BODY),
    ("post", "/v1/runs/{run_id}/reschedule", seed.RESCHEDULE_BODY),
    ("post", "/v1/runs/bulk-replay", seed.RUN_IDS_BODY),
    ("post", "/v1/runs/bulk-cancel", seed.RUN_IDS_BODY),
]


@pytest.fixture(scope="module")
def openapi() -> Schema:
    return create_app(Settings()).openapi()


def resolve(document: Schema, schema: Schema) -> Schema:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def alternatives(document: Schema, schema: Schema) -> Iterator[Schema]:
    """The schema, or each branch of its `anyOf`/`oneOf`, resolved."""
    schema = resolve(document, schema)
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        for branch in branches:
            yield from alternatives(document, branch)
    else:
        yield schema


JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return JSON_TYPES[type(value)]


def allows(schema: Schema, kind: str) -> bool:
    declared = schema.get("type")
    if declared is None:
        return True  # no type: any value
    declared = {declared} if isinstance(declared, str) else set(declared)
    return kind in declared or (kind == "integer" and "number" in declared)


def mismatches(document: Schema, schema: Schema, example: Any, where: str) -> list[str]:
    """Where `example` (a seed's) does not fit `schema`: a key it lacks, a type it refuses."""
    if example is None:
        return []  # a seed's null says nothing of the type
    kind = json_type(example)
    fitting = [s for s in alternatives(document, schema) if allows(s, kind)]
    if not fitting:
        return [f"{where}: {kind} not allowed"]
    chosen = fitting[0]
    found: list[str] = []
    if isinstance(example, dict) and "properties" in chosen:  # a model: these keys only
        properties = chosen["properties"]
        for key, value in example.items():
            if key in properties:
                found += mismatches(document, properties[key], value, f"{where}.{key}")
            else:
                found.append(f"{where}.{key}: no such property")
    elif isinstance(example, dict) and isinstance(chosen.get("additionalProperties"), dict):
        for key, value in example.items():  # a map: every value of one schema
            found += mismatches(document, chosen["additionalProperties"], value, f"{where}.{key}")
    elif isinstance(example, list) and example and "items" in chosen:
        found += mismatches(document, chosen["items"], example[0], f"{where}[0]")
    return found


def response_schema(document: Schema, method: str, path: str, status: str) -> Schema:
    response = document["paths"][path][method]["responses"][status]
    return dict(response["content"]["application/json"]["schema"])


@pytest.mark.parametrize(("method", "path", "status", "example"), ANSWERS)
def test_every_seed_answer_fits_the_openapi_document(
    openapi: Schema, method: str, path: str, status: str, example: Any
) -> None:
    schema = response_schema(openapi, method, path, status)
    assert mismatches(openapi, schema, example, f"{method} {path} {status}") == []


@pytest.mark.parametrize(("method", "path", "example"), BODIES)
def test_every_seed_body_fits_the_openapi_document(
    openapi: Schema, method: str, path: str, example: Any
) -> None:
    body = openapi["paths"][path][method]["requestBody"]["content"]["application/json"]
    assert mismatches(openapi, body["schema"], example, f"{method} {path} body") == []


def parameters(document: Schema, method: str, path: str) -> dict[str, Schema]:
    return {p["name"]: p.get("schema", {}) for p in document["paths"][path][method]["parameters"]}


def test_the_seeds_list_parameters_and_statuses(openapi: Schema) -> None:
    executions = parameters(openapi, "get", "/api/v1/executions")
    # Seed 000's page pagination and seed 002's cursor, side by side.
    assert executions["page"]["default"] == 1 and executions["page_size"]["default"] == 20
    assert {"workflow_id", "status", "limit", "after"} <= set(executions)
    limit = next(alternatives(openapi, executions["limit"]))
    assert (limit["minimum"], limit["maximum"]) == (1, 100)
    assert (
        parameters(openapi, "get", "/api/v1/executions/{execution_id}")["include_step_results"][
            "default"
        ]
        is False
    )
    runs = parameters(openapi, "get", "/v1/runs")
    assert runs["limit"]["default"] == 50
    wanted = {"project_id", "status", "triggered_by", "batch_id", "payload", "created_after"}
    assert wanted <= set(runs)
    # Seed 001's 13 run statuses (and `paused`, which its pause call needs).
    statuses = resolve(openapi, {"$ref": "#/components/schemas/Status"})["enum"]
    assert set(statuses) == {*seed.RUN_STATUSES, "paused"}
    # API.md maps them on /api/v1: seed 000's filter values are all there; seed 002's
    # `success` and `stopped` read `completed` and `cancelled`.
    shown = set(resolve(openapi, {"$ref": "#/components/schemas/ExecutionStatus"})["enum"])
    assert {"running", "completed", "failed", "cancelled", "paused"} <= shown
    assert not {"success", "stopped"} & shown


# ---- live answers ------------------------------------------------------------------------


def numeric(kind: str) -> bool:
    return kind in ("integer", "number")


def live_mismatches(
    document: Schema, schema: Schema, example: Any, answer: Any, where: str
) -> list[str]:
    """Where a live `answer` lacks a key of the seed's `example`, or holds a value of another
    JSON type (null is always allowed: the seed's values are placeholders)."""
    if example is None or answer is None:
        return []
    branches = list(alternatives(document, schema))
    if any("type" not in branch and "properties" not in branch for branch in branches):
        return []  # any JSON value (a payload, a result): the seed's placeholder says nothing
    kind, shown = json_type(answer), json_type(example)
    if kind != shown and not (numeric(kind) and numeric(shown)):
        return [f"{where}: answered {kind}, the seed shows {shown}"]
    chosen = next((branch for branch in branches if allows(branch, kind)), {})
    found: list[str] = []
    if isinstance(example, dict) and "properties" in chosen:
        for key, value in example.items():
            if key not in answer:
                found.append(f"{where}.{key}: missing")
            else:
                inner = chosen["properties"].get(key, {})
                found += live_mismatches(document, inner, value, answer[key], f"{where}.{key}")
    elif isinstance(example, dict) and isinstance(chosen.get("additionalProperties"), dict):
        sample = next(iter(example.values()), None)
        for key, value in answer.items():  # a map keyed by ids: each value as the seed's
            extra = chosen["additionalProperties"]
            found += live_mismatches(document, extra, sample, value, f"{where}.{key}")
    elif isinstance(example, list) and example:
        if not answer:
            return [f"{where}: empty, nothing to hold to the seed"]
        found += live_mismatches(
            document, chosen.get("items", {}), example[0], answer[0], f"{where}[0]"
        )
    return found


class Seeds:
    """Calls that must succeed, each answer held to the seed example of its endpoint."""

    def __init__(self, api: Api, document: Schema) -> None:
        self.api = api
        self.document = document

    async def call(
        self,
        method: str,
        url: str,
        template: str,
        example: Any,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        response = await self.api.http.request(
            method, url, headers=self.api.admin if headers is None else headers, **kwargs
        )
        assert response.status_code == status, f"{method} {url}: {response.text}"
        schema = response_schema(self.document, method.lower(), template, str(status))
        answer = response.json()
        assert live_mismatches(self.document, schema, example, answer, f"{method} {url}") == []
        return answer


def gated(identifier: str) -> dict[str, Any]:
    return {
        "id": identifier,
        "name": "Gated",
        "steps": [
            {"id": "double", "kind": "transform", "with": {"value": "{{ input.n * 2 }}"}},
            {"id": "gate", "kind": "wait", "depends_on": ["double"], "with": {"signal": "go"}},
        ],
        "output": {"double": "{{ steps.double.output }}", "gate": "{{ steps.gate.output }}"},
    }


def llm_job(identifier: str, step_id: str, **with_: Any) -> dict[str, Any]:
    """A job of one `llm` step (`with_` its parameters), whose output is the step's."""
    return {
        "id": identifier,
        "name": "Ask",
        "steps": [{"id": step_id, "kind": "llm", "with": with_}],
        "output": f"{{{{ steps.{step_id}.output }}}}",
    }


def slug(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def status_of(api: Api, path: str) -> str:
    return str((await api.http.get(path, headers=api.admin)).json()["status"])


async def test_seed_000_answers_live(api: Api, openapi: Schema) -> None:
    seeds = Seeds(api, openapi)
    workflow_id = slug("s000")
    await api.create_workflow(
        {
            "id": workflow_id,
            "name": "Research",
            "steps": [
                {"id": "report", "kind": "transform", "with": {"value": "{{ input.query }}"}}
            ],
            "output": {"report": "{{ steps.report.output }}"},
        }
    )
    body = {**seed.S000_CREATE_BODY, "workflow_id": workflow_id}
    created = await seeds.call(
        "POST", "/api/v1/executions", "/api/v1/executions", seed.S000_CREATED, 201, json=body
    )
    # API.md: `queued` until a worker picks it up (seed 000 shows `running`).
    assert created["status"] == "queued"
    execution = f"/api/v1/executions/{created['id']}"
    await eventually(lambda: status_of(api, execution), lambda s: s == "completed")
    page = await seeds.call(
        "GET",
        f"/api/v1/executions?workflow_id={workflow_id}&page=1&page_size=20",
        "/api/v1/executions",
        seed.S000_LIST,
    )
    assert (page["total"], page["page"], page["page_size"]) == (1, 1, 20)
    done = await seeds.call("GET", execution, "/api/v1/executions/{execution_id}", seed.S000_GET)
    assert done["output_data"] == {"report": "Research quantum computing advancements"}
    assert done["checkpoints"][0]["name"] == "start"
    checkpoint = {"checkpoint_id": done["checkpoints"][1]["id"]}
    replay = await api.http.post(f"{execution}/replay", json=checkpoint, headers=api.admin)
    assert replay.status_code == 201 and replay.json()["id"] != created["id"]
    rolled = await api.http.post(f"{execution}/rollback", json=checkpoint, headers=api.admin)
    assert rolled.json() == {"execution_id": created["id"], "status": "paused"}


async def test_seed_001_answers_live(
    api: Api, openapi: Schema, llm_server: LlmServer, tmp_path: Path
) -> None:
    seeds = Seeds(api, openapi)
    # A run with every record: a tool call, a structured output, usage.
    model = llm_server.script(
        [
            Reply(tool_calls=[ToolCall("test_echo", {"city": "Oslo"})]),
            Reply(content='{"answer": "Oslo"}'),
        ]
    )
    ask = slug("s001")
    await api.create_workflow(
        llm_job(
            ask,
            "answer",
            model=model,
            messages=[{"role": "user", "content": "{{ input.question }}"}],
            tools=["test.echo"],
            output_schema={"type": "object", "properties": {"answer": {"type": "string"}}},
        )
    )
    run = await seeds.call(
        "POST",
        f"/v1/jobs/{ask}/trigger",
        "/v1/jobs/{job_id}/trigger",
        seed.RUN,
        201,
        json={"payload": {"question": "where?"}, "idempotency_key": slug("key")},
    )
    path = f"/v1/runs/{run['id']}"
    await eventually(lambda: status_of(api, path), lambda s: s == "completed")
    one = "/v1/runs/{run_id}"
    await seeds.call("GET", path, one, seed.RUN)
    await seeds.call("GET", f"/v1/runs?job_id={ask}", "/v1/runs", [seed.RUN])
    for record, example in (
        ("events", seed.EVENT),
        ("checkpoints", seed.CHECKPOINT),
        ("usage", seed.USAGE),
        ("tool-calls", seed.TOOL_CALL),
        ("outputs", seed.OUTPUT),
        ("lineage", seed.RUN),
    ):
        await seeds.call("GET", f"{path}/{record}", f"{one}/{record}", [example])
    await seeds.call("GET", f"{path}/debug-bundle", f"{one}/debug-bundle", seed.DEBUG_BUNDLE)
    reset = await seeds.call(
        "DELETE", f"{path}/idempotency-key", f"{one}/idempotency-key", seed.IDEMPOTENCY_RESET
    )
    assert reset == {"status": "reset", "run_id": run["id"]}

    # Controls on an open run, and a delayed one.
    job = slug("s001")
    await api.create_workflow(gated(job))
    opened = (
        await api.http.post(
            f"/v1/jobs/{job}/trigger", json={"payload": {"n": 1}}, headers=api.admin
        )
    ).json()
    gate = f"/v1/runs/{opened['id']}"
    await eventually(lambda: status_of(api, gate), lambda s: s == "waiting")
    await seeds.call("POST", f"{gate}/pause", f"{one}/pause", seed.RUN)
    # Not at once: a resume right after a pause can still see `waiting` (the control calls'
    # rewrite makes them read their own writes).
    await eventually(lambda: status_of(api, gate), lambda s: s == "paused")
    await seeds.call("POST", f"{gate}/resume", f"{one}/resume", seed.RUN)
    await seeds.call("GET", f"{gate}/children", f"{one}/children", [])
    # The delayed run waits on the ask job (completed): its dependency status lists it.
    await api.http.post(
        f"/v1/jobs/{job}/dependencies",
        json={"depends_on_job_id": ask, "condition": "completed"},
        headers=api.admin,
    )
    later = (
        await api.http.post(
            f"/v1/jobs/{job}/trigger",
            json={"payload": {"n": 2}, "scheduled_at": "2099-01-01T00:00:00Z"},
            headers=api.admin,
        )
    ).json()
    await seeds.call(
        "POST", f"/v1/runs/{later['id']}/reschedule", f"{one}/reschedule", seed.RUN,
        json=seed.RESCHEDULE_BODY | {"scheduled_at": "2098-01-01T00:00:00Z"},
    )  # fmt: skip
    await seeds.call(
        "GET",
        f"/v1/runs/{later['id']}/dependency-status",
        f"{one}/dependency-status",
        seed.DEPENDENCY_STATUS,
    )
    canceled = await seeds.call(
        "POST", "/v1/runs/bulk-cancel", "/v1/runs/bulk-cancel", seed.BULK_RESULT,
        json={"run_ids": [opened["id"]]},
    )  # fmt: skip
    assert canceled["canceled"] == 1
    await eventually(lambda: status_of(api, gate), lambda s: s == "canceled")
    await seeds.call("POST", f"{gate}/replay", f"{one}/replay", seed.RUN, 201)
    await seeds.call("POST", f"{gate}/restart", f"{one}/restart", seed.RUN, 201, json={})
    await seeds.call(
        "POST", "/v1/runs/bulk-replay", "/v1/runs/bulk-replay", [seed.RUN], 201,
        json={"run_ids": [opened["id"]]},
    )  # fmt: skip
    everything = await seeds.call(
        "POST", f"/v1/runs/bulk-cancel-all?job_id={job}", "/v1/runs/bulk-cancel-all",
        {"total": 0, "canceled": 0, "failed": 0}, json={},
    )  # fmt: skip
    assert everything["failed"] == 0 and everything["canceled"] == everything["total"]

    # Dead letters: two runs out of attempts, redriven one by one and in bulk.
    parked = slug("s001")
    marker = tmp_path / "fixed"
    await api.create_workflow(
        {
            "id": parked,
            "name": "Parked",
            "steps": [
                {
                    "id": "fragile",
                    "kind": "activity",
                    "activity": "test.until",
                    "with": {"marker": str(marker), "value": "fixed"},
                    "retry": {"max_attempts": 2, "backoff": "fixed", "initial_delay_secs": 0.1},
                }
            ],
        }
    )
    dead = [
        (await api.http.post(f"/v1/jobs/{parked}/trigger", headers=api.admin)).json()["id"]
        for _ in range(2)
    ]

    async def both_dead() -> list[str]:
        return [await status_of(api, f"/v1/runs/{run_id}") for run_id in dead]

    await eventually(both_dead, lambda statuses: statuses == ["dead_letter"] * 2)
    await eventually(
        lambda: api.http.get(f"/v1/runs/dlq?job_id={parked}", headers=api.admin),
        lambda r: len(r.json()) == 2,
    )
    await seeds.call("GET", f"/v1/runs/dlq?job_id={parked}", "/v1/runs/dlq", [seed.RUN])
    marker.write_text("")
    await seeds.call("POST", f"/v1/runs/{dead[0]}/dlq-replay", f"{one}/dlq-replay", seed.RUN)
    await eventually(lambda: status_of(api, f"/v1/runs/{dead[0]}"), lambda s: s == "completed")
    await eventually(
        lambda: api.http.get(f"/v1/runs/dlq?job_id={parked}", headers=api.admin),
        lambda r: [x["id"] for x in r.json()] == [dead[1]],
    )
    replayed_all = await seeds.call(
        "POST", f"/v1/runs/bulk-dlq-replay?job_id={parked}", "/v1/runs/bulk-dlq-replay",
        seed.DLQ_REPLAYED, json={},
    )  # fmt: skip
    assert replayed_all["count"] == 1 and replayed_all["replayed"][0]["id"] == dead[1]
    # An error answer carries the seed's `{error, request_id}` (and API.md's `code`).
    refused = await api.http.post(
        "/v1/runs/bulk-dlq-replay?project_id=someone-else", headers=api.admin
    )
    assert refused.status_code == 403 and set(seed.ERROR) <= set(refused.json())


async def test_seed_002_answers_live(api: Api, openapi: Schema) -> None:
    seeds = Seeds(api, openapi)
    workflow_id = slug("s002")
    await api.create_workflow({**gated(workflow_id), "name": "Welcome Email Workflow"})
    accepted = await seeds.call(
        "POST",
        f"/api/v1/workflows/{workflow_id}/run-async",
        "/api/v1/workflows/{workflow_id}/run-async",
        seed.S002_ACCEPTED,
        202,
        json={"n": 1},
        headers={**api.admin, "Idempotency-Key": slug("request")},
    )
    execution = f"/api/v1/executions/{accepted['execution_id']}"
    await eventually(lambda: status_of(api, execution), lambda s: s == "waiting")
    # Seed 002's list is `{executions: [...]}`; API.md's cursor page is `{items, total,
    # next_cursor}` with the same rows.
    listed = await seeds.call(
        "GET",
        f"/api/v1/executions?workflow_id={workflow_id}&limit=10",
        "/api/v1/executions",
        {"items": [seed.S002_EXECUTION], "total": 1, "next_cursor": None},
    )
    assert listed["items"][0]["workflow_name"] == "Welcome Email Workflow"
    polled = await seeds.call("GET", execution, "/api/v1/executions/{execution_id}", seed.S002_GET)
    assert polled["steps"] is None  # step results only on request
    await api.http.post(f"{execution}/signal", json={"name": "go"}, headers=api.admin)
    await eventually(lambda: status_of(api, execution), lambda s: s == "completed")
    full = await seeds.call(
        "GET",
        f"{execution}?include_step_results=true",
        "/api/v1/executions/{execution_id}",
        seed.S002_GET_WITH_STEPS,
    )
    assert [s["index"] for s in full["steps"]] == [0, 1]

    stoppable = (
        await api.http.post(
            f"/api/v1/workflows/{workflow_id}/run-async", json={"n": 2}, headers=api.admin
        )
    ).json()
    stop = f"/api/v1/executions/{stoppable['execution_id']}/stop"
    stopped = await seeds.call(
        "POST", stop, "/api/v1/executions/{execution_id}/stop", seed.S002_STOPPED
    )
    assert stopped["status"] == "cancelled"  # API.md: seed 002's `stopped`
    await eventually(
        lambda: status_of(api, f"/api/v1/executions/{stoppable['execution_id']}"),
        lambda s: s == "cancelled",
    )
    again = await api.http.post(stop, headers=api.admin)
    assert again.status_code == 400  # already terminal


async def test_seed_003_answers_live(api: Api, openapi: Schema, llm_server: LlmServer) -> None:
    seeds = Seeds(api, openapi)
    model = llm_server.script([Reply(content="A breathtaking panoramic view...", model="m-1")])
    workflow_id = slug("s003")
    await api.create_workflow(
        llm_job(
            workflow_id,
            "step1",
            model=model,
            messages=[
                {"role": "system", "content": "You are a helpful assistant"},
                {"role": "user", "content": "{{ input.prompt }}"},
            ],
            max_tokens=512,
        )
    )
    execution_id = await api.run(workflow_id, {"prompt": "A majestic mountain landscape"})
    execution = f"/api/v1/executions/{execution_id}"
    await eventually(lambda: status_of(api, execution), lambda s: s == "completed")
    found = await seeds.call(
        "GET", execution, "/api/v1/executions/{execution_id}", seed.S003_GET | seed.S003_MORE
    )
    metadata = found["step_outputs"]["step1"]["metadata"]
    assert set(seed.S003_STEP_OUTPUT["metadata"]) <= set(metadata)
    assert set(seed.S003_STEP_OUTPUT["metadata"]["params"]) <= set(metadata["params"])
    assert (metadata["model"], metadata["version"]) == (model, "m-1")
    assert found["output"] == found["step_outputs"]["step1"]["primary"]
    unauthorized = await api.http.get(execution)
    assert unauthorized.status_code == 401
    assert unauthorized.json()["error"] == seed.S003_UNAUTHORIZED["error"]
    missing = await api.http.get(
        "/api/v1/executions/exec_00000000000000000000000000", headers=api.admin
    )
    assert missing.status_code == 404 and missing.json()["error"] == seed.S003_NOT_FOUND["error"]


def test_the_readme_counts_the_run_fields() -> None:
    """Seed 001's 36 fields and `usage`: the number the README's run-management example
    says."""
    fields = set(Run.model_fields)
    assert set(seed.RUN) <= fields and fields - set(seed.RUN) == {"usage"}
    said = re.search(r"# the run, all (\d+) fields", (ROOT / "README.md").read_text())
    assert said is not None and int(said.group(1)) == len(fields)
