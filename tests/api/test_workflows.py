"""Workflow definitions over HTTP: create, version, read, disable, and every unhappy path."""

from __future__ import annotations

import uuid
from typing import Any

import yaml

from tests.support.api import Api
from tests.support.polling import eventually


def slug() -> str:
    return f"wf-{uuid.uuid4().hex[:10]}"


def simple(workflow_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": workflow_id,
        "name": "Simple",
        "steps": [{"id": "only", "kind": "transform", "with": {"value": "{{ input }}"}}],
        "output": "{{ steps.only.output }}",
        **extra,
    }


async def test_create_read_version_and_list(api: Api) -> None:
    workflow_id = slug()
    created = await api.create_workflow(simple(workflow_id))
    assert created["id"] == workflow_id
    assert created["version"] == created["latest_version"] == 1
    assert created["definition"]["steps"][0]["id"] == "only"

    updated = await api.http.put(
        f"/api/v1/workflows/{workflow_id}",
        json=simple(workflow_id, name="Simple v2"),
        headers=api.admin,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2
    # The same body again is the same version, not a new one.
    unchanged = await api.http.put(
        f"/api/v1/workflows/{workflow_id}",
        json=simple(workflow_id, name="Simple v2"),
        headers=api.admin,
    )
    assert unchanged.status_code == 200, unchanged.text
    assert (unchanged.json()["version"], unchanged.json()["latest_version"]) == (2, 2)

    latest = (await api.http.get(f"/api/v1/workflows/{workflow_id}", headers=api.admin)).json()
    assert (latest["version"], latest["name"]) == (2, "Simple v2")
    first = await api.http.get(
        f"/api/v1/workflows/{workflow_id}", params={"version": 1}, headers=api.admin
    )
    assert first.json()["name"] == "Simple"
    versions = await api.http.get(f"/api/v1/workflows/{workflow_id}/versions", headers=api.admin)
    assert [v["version"] for v in versions.json()["items"]] == [1, 2]

    listed = await api.http.get("/api/v1/workflows", params={"page_size": 100}, headers=api.admin)
    assert workflow_id in [w["id"] for w in listed.json()["items"]]
    assert listed.json()["total"] >= 1


async def test_yaml_definitions_and_slugs_derived_from_the_name(api: Api) -> None:
    name = f"Yaml Flow {uuid.uuid4().hex[:6]}"
    body = yaml.safe_dump(
        {"name": name, "steps": [{"id": "a", "kind": "sleep", "with": {"seconds": 1}}]}
    )
    response = await api.http.post(
        "/api/v1/workflows",
        content=body,
        headers={**api.admin, "Content-Type": "application/yaml"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["id"] == name.lower().replace(" ", "-")


async def test_slugs_are_unique_per_project_only(api: Api) -> None:
    workflow_id = slug()
    await api.create_workflow(simple(workflow_id))
    again = await api.http.post("/api/v1/workflows", json=simple(workflow_id), headers=api.admin)
    assert again.status_code == 409
    assert workflow_id in again.json()["error"]
    other = await api.key_for(project=f"other-{uuid.uuid4().hex[:6]}")
    elsewhere = await api.http.post("/api/v1/workflows", json=simple(workflow_id), headers=other)
    assert elsewhere.status_code == 201


async def test_other_projects_cannot_see_a_workflow(api: Api) -> None:
    workflow_id = slug()
    await api.create_workflow(simple(workflow_id))
    other = await api.key_for(project=f"other-{uuid.uuid4().hex[:6]}")
    for method, path in (
        ("GET", f"/api/v1/workflows/{workflow_id}"),
        ("GET", f"/api/v1/workflows/{workflow_id}/versions"),
        ("POST", f"/api/v1/workflows/{workflow_id}/disable"),
    ):
        response = await api.http.request(method, path, headers=other)
        assert response.status_code == 404, (path, response.text)
    put = await api.http.put(
        f"/api/v1/workflows/{workflow_id}", json=simple(workflow_id), headers=other
    )
    assert put.status_code == 404
    listed = await api.http.get("/api/v1/workflows", headers=other)
    assert workflow_id not in [w["id"] for w in listed.json()["items"]]


async def test_invalid_definitions_get_422_naming_the_step(api: Api) -> None:
    cases = {
        "cycle": (
            [
                {"id": "a", "kind": "transform", "depends_on": ["b"], "with": {"value": 1}},
                {"id": "b", "kind": "transform", "depends_on": ["a"], "with": {"value": 1}},
            ],
            "cycle",
        ),
        "unknown activity": (
            [{"id": "send", "kind": "activity", "activity": "email.nope"}],
            "step 'send' uses activity 'email.nope', which no worker publishes",
        ),
        "bad template": (
            [{"id": "t", "kind": "transform", "with": {"value": "{{ input. }}"}}],
            "step 't'",
        ),
        # Jinja would refuse these only when a run renders them: every run would fail.
        "unknown filter": (
            [{"id": "f", "kind": "transform", "with": {"value": "{{ input.x | nosuchfilter }}"}}],
            "step 'f': template '{{ input.x | nosuchfilter }}' uses an unknown filter",
        ),
        "unknown filter in a branch": (
            [
                {
                    "id": "b",
                    "kind": "transform",
                    "with": {"value": "{% if input.x %}{{ input.x | shout }}{% endif %}"},
                }
            ],
            "unknown filter 'shout'",
        ),
        "unknown test": (
            [{"id": "t", "kind": "transform", "if": "input.x is nosuchtest", "with": {"value": 1}}],
            "step 't': template '{{ input.x is nosuchtest }}' uses an unknown test 'nosuchtest'",
        ),
        "removed filter": (
            [{"id": "r", "kind": "transform", "with": {"value": "{{ [1, 2] | random }}"}}],
            "unknown filter 'random'",
        ),
        "llm without a model": (
            [
                {
                    "id": "ask",
                    "kind": "llm",
                    "with": {"messages": [{"role": "user", "content": "hi"}]},
                }
            ],
            "step 'ask' of kind 'llm' needs `with.model`",
        ),
        "duplicate": (
            [{"id": "a", "kind": "transform", "with": {"value": 1}}] * 2,
            "step 'a' is defined more than once",
        ),
    }
    for label, (steps, expected) in cases.items():
        response = await api.http.post(
            "/api/v1/workflows", json={"name": label, "steps": steps}, headers=api.admin
        )
        assert response.status_code == 422, (label, response.text)
        body = response.json()
        assert expected in body["error"], (label, body)
        assert body["code"] == "definition_invalid", body
        assert body["request_id"]


async def test_step_parameters_are_checked_at_registration(api: Api) -> None:
    """Literal parameters of every kind, and an activity's `with` against the JSON Schema its
    worker published; templated values pass here and are checked when they render."""
    cases: dict[str, tuple[dict[str, Any], str]] = {
        "method": (
            {"id": "h", "kind": "http", "with": {"url": "https://x.test", "method": "FETCH"}},
            "step 'h': with.method",
        ),
        "seconds word": (
            {"id": "z", "kind": "sleep", "with": {"seconds": "soon"}},
            "step 'z': with.seconds: Input should be a valid number",
        ),
        "seconds negative": (
            {"id": "z", "kind": "sleep", "with": {"seconds": -1}},
            "step 'z': with.seconds: Input should be greater than or equal to 0",
        ),
        "unknown parameter": (
            {"id": "z", "kind": "sleep", "with": {"seconds": 1, "minutes": 1}},
            "`with.minutes` is not a parameter of sleep steps",
        ),
        "activity schema": (
            {"id": "s", "kind": "activity", "activity": "test.slow", "with": {"seconds": "x"}},
            "step 's': with.seconds does not match the input schema of activity 'test.slow'",
        ),
        "activity required": (
            {"id": "s", "kind": "activity", "activity": "test.slow", "with": {}},
            "step 's': with does not match the input schema of activity 'test.slow': "
            "'seconds' is a required property",
        ),
    }
    for label, (step, expected) in cases.items():
        response = await api.http.post(
            "/api/v1/workflows", json={"name": label, "steps": [step]}, headers=api.admin
        )
        assert response.status_code == 422, (label, response.text)
        assert expected in response.json()["error"], (label, response.json())
        assert response.json()["code"] == "definition_invalid"
    # Non-finite numbers arrive as JSON's NaN / Infinity extensions.
    for value in ("NaN", "Infinity"):
        body = '{"name": "n", "steps": [{"id": "z", "kind": "sleep", "with": {"seconds": %s}}]}'
        response = await api.http.post(
            "/api/v1/workflows",
            content=body % value,
            headers={**api.admin, "Content-Type": "application/json"},
        )
        assert response.status_code == 422, (value, response.text)
        assert "finite number" in response.json()["error"]
    templated = {
        "name": "templated",
        "steps": [
            {"id": "z", "kind": "sleep", "with": {"seconds": "{{ input.s }}"}},
            {
                "id": "s",
                "kind": "activity",
                "activity": "test.slow",
                "with": {"seconds": "{{ input.s }}"},
            },
        ],
    }
    accepted = await api.http.post("/api/v1/workflows", json=templated, headers=api.admin)
    assert accepted.status_code == 201, accepted.text


async def test_a_value_that_renders_invalid_fails_its_step_at_once(api: Api) -> None:
    """Nothing waits forever on a bad value: the step fails with a sentence naming it."""
    workflow_id = slug()
    await api.create_workflow(
        {
            "id": workflow_id,
            "name": "Bad nap",
            "steps": [{"id": "nap", "kind": "sleep", "with": {"seconds": "{{ input.s }}"}}],
        }
    )
    for bad in ("soon", -1):
        execution_id = await api.run(workflow_id, {"s": bad})
        failed = await eventually(
            lambda: api.execution(execution_id),  # noqa: B023  (awaited in this iteration)
            lambda e: e["status"] == "failed",
        )
        assert failed["error"] == "failed"
        assert failed["failed_step"] == "nap"
        assert "step 'nap': with.seconds" in failed["error_cause"]
        assert failed["error_class"] == "InvalidStepParams"


async def test_unknown_activity_error_lists_the_known_ones(api: Api) -> None:
    response = await api.http.post(
        "/api/v1/workflows",
        json={"name": "x", "steps": [{"id": "s", "kind": "activity", "activity": "nope"}]},
        headers=api.admin,
    )
    assert "test.echo" in response.json()["error"]


async def test_malformed_bodies_get_a_clear_4xx(api: Api) -> None:
    headers = {**api.admin, "Content-Type": "application/json"}
    broken = await api.http.post("/api/v1/workflows", content=b"{not json", headers=headers)
    assert broken.status_code == 400
    assert broken.json()["error"].startswith("the request body is not valid JSON")
    assert broken.json()["code"] == "invalid_json"
    # YAML sent without its content type: the answer says how to send it.
    as_yaml = yaml.safe_dump(simple(slug()))
    unlabelled = await api.http.post("/api/v1/workflows", content=as_yaml, headers=headers)
    assert unlabelled.status_code == 400
    assert "Content-Type: application/yaml" in unlabelled.json()["error"]
    assert "reads as YAML" in unlabelled.json()["error"]
    not_object = await api.http.post("/api/v1/workflows", content=b"[1, 2]", headers=headers)
    assert not_object.status_code == 422
    bad_yaml = await api.http.post(
        "/api/v1/workflows",
        content=b"name: [unclosed",
        headers={**api.admin, "Content-Type": "application/yaml"},
    )
    assert bad_yaml.status_code == 400
    mismatch = await api.http.put(
        f"/api/v1/workflows/{slug()}", json=simple("other-id"), headers=api.admin
    )
    assert mismatch.status_code == 422


async def test_unknown_workflows_and_versions_are_404(api: Api) -> None:
    missing = await api.http.get(f"/api/v1/workflows/{slug()}", headers=api.admin)
    assert missing.status_code == 404
    assert "not found" in missing.json()["error"]
    workflow_id = slug()
    await api.create_workflow(simple(workflow_id))
    version = await api.http.get(
        f"/api/v1/workflows/{workflow_id}", params={"version": 9}, headers=api.admin
    )
    assert version.status_code == 404
    put = await api.http.put(
        f"/api/v1/workflows/{slug()}", json={"name": "x", "steps": []}, headers=api.admin
    )
    assert put.status_code == 422


async def test_scopes_are_enforced(api: Api) -> None:
    reader = await api.key_for(scopes=["workflows:read"])
    executor = await api.key_for(scopes=["executions:read"])
    write = await api.http.post("/api/v1/workflows", json=simple(slug()), headers=reader)
    assert write.status_code == 403
    assert "workflows:write" in write.json()["error"]
    read = await api.http.get("/api/v1/workflows", headers=executor)
    assert read.status_code == 403
    assert (await api.http.get("/api/v1/workflows", headers=reader)).status_code == 200


YAML = {"Content-Type": "application/yaml"}


def alias_bomb(workflow_id: str, levels: int = 9, fan_out: int = 5) -> str:
    """A few hundred bytes of YAML whose aliases expand to megabytes ("billion laughs")."""
    lines = [
        f"id: {workflow_id}",
        "name: Bomb",
        "steps:",
        "  - id: s",
        "    kind: transform",
        "    with:",
        "      value:",
        '        l0: &l0 ["x", "x"]',
    ]
    for level in range(1, levels + 1):
        items = ", ".join([f"*l{level - 1}"] * fan_out)
        lines.append(f"        l{level}: &l{level} [{items}]")
    return "\n".join(lines) + "\n"


async def test_yaml_aliases_that_expand_past_the_definition_limit_are_refused(api: Api) -> None:
    workflow_id = slug()
    bomb = alias_bomb(workflow_id)
    assert len(bomb) < 1024
    for path in ("/api/v1/workflows", "/v1/jobs"):
        response = await api.http.post(path, content=bomb.encode(), headers={**api.admin, **YAML})
        assert response.status_code == 413, response.text[:300]
        assert response.json()["code"] == "definition_too_large"
        assert "FERRYMAN_MAX_DEFINITION_BYTES" in response.json()["error"]
    missing = await api.http.get(f"/api/v1/workflows/{workflow_id}", headers=api.admin)
    assert missing.status_code == 404
    # An alias inside the node it names cannot become JSON.
    recursive = f"id: {slug()}\nname: Loop\nsteps:\n  - id: s\n    kind: transform\n"
    recursive += "    with: {value: &r [*r]}\n"
    looped = await api.http.post(
        "/api/v1/workflows", content=recursive.encode(), headers={**api.admin, **YAML}
    )
    assert (looped.status_code, looped.json()["code"]) == (400, "invalid_yaml"), looped.text


async def test_small_yaml_aliases_are_stored_expanded(api: Api) -> None:
    workflow_id = slug()
    document = f"""
id: {workflow_id}
name: Shared retry
defaults: {{retry: &retry {{max_attempts: 2, backoff: fixed}}}}
steps:
  - {{id: a, kind: transform, with: {{value: 1}}, retry: *retry}}
  - {{id: b, kind: transform, with: {{value: 2}}, retry: *retry}}
"""
    created = await api.http.post(
        "/api/v1/workflows", content=document.encode(), headers={**api.admin, **YAML}
    )
    assert created.status_code == 201, created.text
    read = await api.http.get(f"/api/v1/workflows/{workflow_id}", headers=api.admin)
    steps = read.json()["definition"]["steps"]
    assert [step["retry"] for step in steps] == [{"max_attempts": 2, "backoff": "fixed"}] * 2


async def test_a_definition_over_the_stored_limit_is_413_naming_it(api: Api) -> None:
    workflow_id = slug()
    big = simple(workflow_id, description="d" * (600 * 1024))  # under the 2 MB body limit
    for method, path in (("POST", "/api/v1/workflows"), ("POST", "/v1/jobs")):
        response = await api.http.request(method, path, json=big, headers=api.admin)
        assert response.status_code == 413, response.text[:300]
        body = response.json()
        assert body["code"] == "definition_too_large" and "bytes" in body["error"]
        assert "FERRYMAN_MAX_DEFINITION_BYTES" in body["error"]
    await api.create_workflow(simple(workflow_id))
    version = await api.http.put(f"/api/v1/workflows/{workflow_id}", json=big, headers=api.admin)
    assert (version.status_code, version.json()["code"]) == (413, "definition_too_large")


async def test_disabled_workflows_refuse_new_executions(api: Api) -> None:
    workflow_id = slug()
    await api.create_workflow(simple(workflow_id))
    disabled = await api.http.post(f"/api/v1/workflows/{workflow_id}/disable", headers=api.admin)
    assert disabled.json()["disabled"] is True
    refused = await api.http.post(
        "/api/v1/executions", json={"workflow_id": workflow_id}, headers=api.admin
    )
    assert refused.status_code == 409
    assert "disabled" in refused.json()["error"]
    await api.http.post(f"/api/v1/workflows/{workflow_id}/enable", headers=api.admin)
    assert await api.run(workflow_id)


async def test_a_disabled_workflow_gets_no_run_by_any_path(api: Api) -> None:
    # Every path that starts a run passes the launcher's one admission check.
    workflow_id = slug()
    await api.create_workflow(simple(workflow_id))
    source = await api.run(workflow_id, {"n": 1})
    await eventually(lambda: api.execution(source), lambda e: e["status"] == "completed")
    await api.http.post(f"/api/v1/workflows/{workflow_id}/disable", headers=api.admin)
    for path, body in (
        (f"/api/v1/executions/{source}/replay", {}),
        (f"/v1/runs/{source}/replay", None),
        (f"/v1/runs/{source}/restart", {}),
        (f"/v1/jobs/{workflow_id}/trigger", {}),
        (f"/v1/jobs/{workflow_id}/batch-trigger", {"items": [{}]}),
        (f"/api/v1/workflows/{workflow_id}/run-async", {}),
    ):
        refused = await api.http.post(path, json=body, headers=api.admin)
        assert refused.status_code == 409, (path, refused.text)
        assert refused.json()["code"] == "workflow_disabled", (path, refused.text)
    bulk = await api.http.post(
        "/v1/runs/bulk-replay", json={"run_ids": [source]}, headers=api.admin
    )
    # All or nothing: the whole call is refused, naming the run and why.
    assert bulk.status_code == 422 and bulk.json()["code"] == "runs_not_replayable", bulk.text
    assert bulk.json()["details"][0]["code"] == "workflow_disabled"
    if bulk.status_code == 200:
        assert all(r["status"] == "error" for r in bulk.json()["results"]), bulk.text
    await api.http.post(f"/api/v1/workflows/{workflow_id}/enable", headers=api.admin)
    replayed = await api.http.post(f"/v1/runs/{source}/replay", headers=api.admin)
    assert replayed.status_code == 201, replayed.text
