"""Every secured route of the app's own OpenAPI document: auth, project isolation, scopes.

The routes are read from `api.app.openapi()` at test time, so a new route is swept
without touching this file (a new kind of path parameter fails loudly until it is taught).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.api import Api
from tests.support.polling import eventually

YEARLY = "0 0 1 1 *"  # a schedule the sweep makes never fires during the session
UNSECURED = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc"}
MUTATING = {"POST", "PUT", "DELETE", "PATCH"}


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    path_params: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


@dataclass
class Fixture:
    """Real objects of the default project whose ids fill the path parameters."""

    workflow_id: str
    execution_id: str
    key_id: str
    schedule_id: str

    def values(self) -> dict[str, str]:
        return {
            "workflow_id": self.workflow_id,
            "job_id": self.workflow_id,
            "execution_id": self.execution_id,
            "run_id": self.execution_id,
            "checkpoint_id": f"chk_{self.execution_id}_0",
            "key_id": self.key_id,
            "schedule_id": self.schedule_id,
        }


def secured_routes(api: Api) -> list[Route]:
    routes = []
    for template, operations in api.app.openapi()["paths"].items():
        for method, operation in operations.items():
            if template in UNSECURED:
                assert not operation.get("security"), f"{template} should be open"
                continue
            assert operation.get("security"), f"{method.upper()} {template} has no security"
            params = tuple(
                p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"
            )
            routes.append(Route(method.upper(), template, params))
    assert len(routes) >= 20, routes  # the sweep must actually see the app's routes
    return routes


def fill(route: Route, fixture: Fixture) -> str:
    values = fixture.values()
    unknown = set(route.path_params) - set(values)
    assert not unknown, f"{route}: teach the sweep the path parameter(s) {sorted(unknown)}"
    return re.sub(r"\{(\w+)\}", lambda match: values[match.group(1)], route.template)


def body_for(route: Route, fixture: Fixture) -> dict[str, Any] | None:
    """A valid body, so a wrong answer cannot come from body validation."""
    if route.template in ("/api/v1/workflows", "/v1/jobs") and route.method == "POST":
        return wait_workflow(f"sweep-{uuid.uuid4().hex[:10]}")
    if route.template.endswith("/batch-trigger"):
        return {"items": [{"payload": {}}]}
    if route.template.endswith("/debug"):
        return {"enabled": True}
    if route.template.endswith("/dependencies") and route.method == "POST":
        return {"depends_on_job_id": fixture.workflow_id, "condition": "completed"}
    if route.template.endswith(("/bulk-cancel", "/bulk-replay")):
        return {"run_ids": [fixture.execution_id]}
    if route.template == "/api/v1/workflows/{workflow_id}" and route.method == "PUT":
        return wait_workflow(fixture.workflow_id)
    if route.template == "/api/v1/executions" and route.method == "POST":
        return {"workflow_id": fixture.workflow_id, "input_data": {}}
    if route.template.endswith("/signal"):
        return {"name": "go", "payload": {"from": "sweep"}}
    if route.template.endswith(("/replay", "/rollback")):
        return {"checkpoint_id": f"chk_{fixture.execution_id}_0"}
    if route.template == "/api/v1/keys" and route.method == "POST":
        return {"scopes": ["executions:read"], "name": "sweep"}
    if route.template.endswith("/run-async"):
        return {}
    if route.template.endswith("/reschedule"):
        return {"scheduled_at": "2030-01-01T00:00:00Z"}
    if route.template == "/v1/schedules" and route.method == "POST":
        return {"job_id": fixture.workflow_id, "cron": YEARLY}
    return None


def wait_workflow(workflow_id: str) -> dict[str, Any]:
    return {
        "id": workflow_id,
        "name": "Sweep",
        "steps": [{"id": "hold", "kind": "wait", "with": {"signal": "go"}}],
    }


async def call(api: Api, route: Route, fixture: Fixture, headers: dict[str, str]) -> httpx.Response:
    body = body_for(route, fixture)
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    return await api.http.request(route.method, fill(route, fixture), **kwargs)


def is_envelope(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and bool(body.get("error")) and "request_id" in body


@pytest.fixture
async def fixture(api: Api) -> AsyncIterator[Fixture]:
    workflow_id = f"sweep-{uuid.uuid4().hex[:10]}"
    await api.create_workflow(wait_workflow(workflow_id))
    execution_id = await api.run(workflow_id)
    await eventually(
        lambda: api.execution(execution_id), lambda e: e["status"] == "waiting", timeout=20
    )
    checkpoints = await api.http.get(
        f"/api/v1/executions/{execution_id}/checkpoints", headers=api.admin
    )
    assert checkpoints.status_code == 200, checkpoints.text
    assert f"chk_{execution_id}_0" in [c["id"] for c in checkpoints.json()["items"]]
    key = await api.http.post(
        "/api/v1/keys", json={"scopes": ["executions:read"], "name": "target"}, headers=api.admin
    )
    assert key.status_code == 201, key.text
    schedule = await api.http.post(
        "/v1/schedules", json={"job_id": workflow_id, "cron": YEARLY}, headers=api.admin
    )
    assert schedule.status_code == 201, schedule.text
    schedule_id = schedule.json()["id"]
    yield Fixture(
        workflow_id=workflow_id,
        execution_id=execution_id,
        key_id=key.json()["id"],
        schedule_id=schedule_id,
    )
    await api.http.post(
        f"/api/v1/executions/{execution_id}/stop", params={"force": "true"}, headers=api.admin
    )
    await api.http.delete(f"/v1/schedules/{schedule_id}", headers=api.admin)


async def test_every_secured_route_answers_401_without_a_valid_key(
    api: Api, fixture: Fixture
) -> None:
    failures = []
    for route in secured_routes(api):
        for headers in (
            {},
            {"X-API-Key": "fm_not_a_key_at_all"},
            {"Authorization": "Bearer fm_not_a_key_at_all"},
        ):
            response = await call(api, route, fixture, headers)
            envelope = response.json() if is_envelope(response) else None
            if (
                response.status_code != 401
                or envelope is None
                or envelope.get("error") != "Invalid or missing API key"
                or not envelope.get("request_id")
            ):
                failures.append(f"{route} {headers}: {response.status_code} {response.text}")
    assert not failures, "\n".join(failures)


async def test_a_key_of_another_project_sees_nothing_of_the_default_project(
    api: Api, fixture: Fixture
) -> None:
    other = await api.key_for(project=f"other-{uuid.uuid4().hex[:8]}", scopes=["admin"])
    routes = [r for r in secured_routes(api) if r.path_params]
    assert routes
    failures = []
    for route in routes:
        response = await call(api, route, fixture, other)
        if response.status_code != 404 or not is_envelope(response):
            failures.append(f"{route}: {response.status_code} {response.text[:300]}")
    assert not failures, "\n".join(failures)
    # Nothing of the default project moved: the execution still waits, the key still works.
    assert (await api.execution(fixture.execution_id))["status"] == "waiting"
    keys = (await api.http.get("/api/v1/keys", headers=api.admin)).json()["items"]
    target = next(k for k in keys if k["id"] == fixture.key_id)
    assert target["revoked_at"] is None
    workflow = await api.http.get(f"/api/v1/workflows/{fixture.workflow_id}", headers=api.admin)
    assert workflow.status_code == 200 and workflow.json().get("enabled", True) is not False


async def test_a_read_only_key_cannot_change_anything(api: Api, fixture: Fixture) -> None:
    reader = await api.key_for(scopes=["executions:read"])
    failures = []
    mutating = [r for r in secured_routes(api) if r.method in MUTATING]
    assert mutating
    for route in mutating:
        response = await call(api, route, fixture, reader)
        if response.status_code != 403 or not is_envelope(response):
            failures.append(f"{route}: {response.status_code} {response.text[:300]}")
    assert not failures, "\n".join(failures)
    assert (await api.execution(fixture.execution_id))["status"] == "waiting"


async def test_an_execute_only_key_cannot_read_executions(api: Api, fixture: Fixture) -> None:
    executor = await api.key_for(scopes=["workflows:execute"])
    reads = [
        r
        for r in secured_routes(api)
        if r.method == "GET" and r.template.startswith(("/api/v1/executions", "/api/v1/failures"))
    ]
    assert len(reads) >= 6, reads
    failures = []
    for route in reads:
        response = await call(api, route, fixture, executor)
        if response.status_code != 403 or not is_envelope(response):
            failures.append(f"{route}: {response.status_code} {response.text[:300]}")
    assert not failures, "\n".join(failures)


ESCAPES = [
    "'",
    '"',
    "\\",
    "\\'",
    "x' OR 'a' = 'a",
    "' OR FerrymanProject != 'x",
    "' OR FerrymanProject != 'x' OR '",
    '" OR FerrymanProject != "x',
    "\\' OR FerrymanProject != \\'x",
    "x') OR (FerrymanProject != 'x",
    "x' OR WorkflowType = 'ExecutionWorkflow",
    "x` OR 1=1 --",
    "%' OR WorkflowId LIKE '%",
    "fähre-🚢-渡し",
    "\u202e'\u2028 OR \u00a0",
    "a" * 63,
    "' OR '" * 10,
    "x" * 5000,
]


async def test_visibility_filters_never_widen_beyond_the_callers_project(
    api: Api, fixture: Fixture
) -> None:
    other = await api.key_for(project=f"other-{uuid.uuid4().hex[:8]}", scopes=["admin"])
    # The default project does have executions; the other project has none.
    mine = await api.http.get("/api/v1/executions", headers=api.admin)
    assert mine.status_code == 200 and mine.json()["items"], mine.text
    failures = []
    cases: list[dict[str, str]] = []
    for value in ESCAPES:
        cases += [
            {"workflow_id": value},
            {"status": value},
            {"workflow_id": value, "status": "waiting"},
            {"workflow_id": value, "limit": "5"},
        ]
    for params in cases:
        for path in ("/api/v1/executions", "/api/v1/failures"):
            response = await api.http.get(path, params=params, headers=other)
            if response.status_code >= 500 or not (
                response.status_code < 500
                and (
                    (response.status_code == 200 and response.json()["items"] == [])
                    or (400 <= response.status_code < 500 and is_envelope(response))
                )
            ):
                failures.append(f"{path} {params!r}: {response.status_code} {response.text[:300]}")
    assert not failures, "\n".join(failures)
