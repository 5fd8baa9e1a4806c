"""Hostile and malformed input: every answer is a 4xx envelope, never a 500.

Sizes, nesting, huge ids, unicode, NUL bytes, wrong JSON types and odd bodies, against the
real app on the session's dev server.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ferryman.api.app import create_app
from ferryman.settings import Settings
from tests.support.api import ADMIN_KEY, Api
from tests.support.polling import eventually

MB = 1024 * 1024
JSON = {"Content-Type": "application/json"}


def slug() -> str:
    return f"bad-{uuid.uuid4().hex[:10]}"


def assert_envelope(response: httpx.Response, *codes: int) -> dict[str, Any]:
    """A 4xx (one of `codes` when given) with `error` and `request_id`."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    if codes:
        assert response.status_code in codes, (response.status_code, response.text[:500])
    body = response.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("error"), str) and body["error"], body
    assert body.get("request_id"), body
    assert body["request_id"] in response.headers.get("x-request-id", "")
    return dict(body)


def echo_workflow(workflow_id: str, name: str = "Bad input") -> dict[str, Any]:
    return {
        "id": workflow_id,
        "name": name,
        "steps": [{"id": "echo", "kind": "transform", "with": {"value": "{{ input }}"}}],
        "output": "{{ steps.echo.output }}",
    }


async def execution_ids(api: Api, workflow_id: str) -> list[str]:
    response = await api.http.get(
        "/api/v1/executions", params={"workflow_id": workflow_id}, headers=api.admin
    )
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@pytest.fixture
async def workflow(api: Api) -> AsyncIterator[str]:
    workflow_id = slug()
    await api.create_workflow(echo_workflow(workflow_id))
    yield workflow_id


# ---- sizes ---------------------------------------------------------------------------


async def test_a_body_over_2mb_is_413_and_starts_nothing(api: Api, workflow: str) -> None:
    big = {"workflow_id": workflow, "input_data": {"blob": "x" * (2 * MB + 10)}}
    response = await api.http.post("/api/v1/executions", json=big, headers=api.admin)
    body = assert_envelope(response, 413)
    assert "larger than the limit" in body["error"]

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the limit must hold on the bytes actually received.
        payload = json.dumps(big).encode()
        for start in range(0, len(payload), 64 * 1024):
            yield payload[start : start + 64 * 1024]

    streamed = await api.http.post(
        "/api/v1/executions", content=chunks(), headers={**api.admin, **JSON}
    )
    assert_envelope(streamed, 413)
    run_async = await api.http.post(
        f"/api/v1/workflows/{workflow}/run-async",
        json={"blob": "x" * (2 * MB + 10)},
        headers=api.admin,
    )
    assert_envelope(run_async, 413)
    definition = echo_workflow(slug())
    definition["description"] = "x" * (2 * MB + 10)
    created = await api.http.post("/api/v1/workflows", json=definition, headers=api.admin)
    assert_envelope(created, 413)
    assert await execution_ids(api, workflow) == []


async def test_a_413_carries_one_request_id_header(api: Api, workflow: str) -> None:
    big = {"workflow_id": workflow, "input_data": {"blob": "x" * (2 * MB + 10)}}
    response = await api.http.post("/api/v1/executions", json=big, headers=api.admin)
    assert response.status_code == 413
    assert response.headers.get_list("x-request-id") == [response.json()["request_id"]]


async def test_an_input_over_the_input_limit_is_413(api: Api, workflow: str) -> None:
    blob = {"blob": "y" * (300 * 1024)}
    response = await api.http.post(
        "/api/v1/executions", json={"workflow_id": workflow, "input_data": blob}, headers=api.admin
    )
    assert "limit" in assert_envelope(response, 413)["error"]
    run_async = await api.http.post(
        f"/api/v1/workflows/{workflow}/run-async", json=blob, headers=api.admin
    )
    assert_envelope(run_async, 413)
    # Many small keys add up too.
    many = {f"k{i}": "z" * 100 for i in range(3000)}
    spread = await api.http.post(
        "/api/v1/executions", json={"workflow_id": workflow, "input_data": many}, headers=api.admin
    )
    assert_envelope(spread, 413)
    assert await execution_ids(api, workflow) == []


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """`app` as a real server answers it: an unhandled error is a 500, not a raised exception."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://ferryman.test") as http:
        yield http


@pytest.fixture
async def roomy(base_settings: Settings, worker: None) -> AsyncIterator[httpx.AsyncClient]:
    """The app with body and definition limits far above Temporal's payload limits."""
    settings = base_settings.model_copy(
        update={
            "bootstrap_api_key": ADMIN_KEY,
            "max_body_bytes": 16 * MB,
            "max_definition_bytes": 12 * MB,
        }
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app), served(app) as http:
        yield http


@pytest.mark.parametrize("megabytes", [2.5, 4.5])
async def test_a_run_over_temporals_payload_limits_is_413_not_retry_shortly(
    api: Api, roomy: httpx.AsyncClient, megabytes: float
) -> None:
    # Over 2 MB Temporal refuses the blob (INVALID_ARGUMENT); over 4 MB gRPC refuses the
    # message (RESOURCE_EXHAUSTED, which otherwise means "overloaded"): both permanent.
    workflow_id = slug()
    definition = echo_workflow(workflow_id)
    definition["steps"][0]["with"]["value"] = "x" * int(megabytes * MB)
    created = await roomy.post("/api/v1/workflows", json=definition, headers=api.admin)
    assert created.status_code == 201, created.text[:300]
    for path, body in (
        (f"/v1/jobs/{workflow_id}/trigger", {}),
        ("/api/v1/executions", {"workflow_id": workflow_id}),
    ):
        response = await roomy.post(path, json=body, headers=api.admin)
        error = assert_envelope(response, 413)
        assert error["code"] == "payload_too_large", error
        assert "retry" not in error["error"] and "too large" in error["error"], error


# ---- nesting -------------------------------------------------------------------------


def nested(depth: int, leaf: str = "1") -> str:
    return '{"a":' * depth + leaf + "}" * depth


@pytest.mark.parametrize("depth", [200, 5000, 100_000])
async def test_deeply_nested_input_is_a_4xx(api: Api, workflow: str, depth: int) -> None:
    raw = '{"workflow_id": "' + workflow + '", "input_data": ' + nested(depth) + "}"
    response = await api.http.post(
        "/api/v1/executions", content=raw.encode(), headers={**api.admin, **JSON}
    )
    # Deeper than the API's nesting limit: refused before it reaches Temporal, where the
    # worker could not decode it and the execution would be stuck for good.
    error = assert_envelope(response)["error"]
    if depth == 200:  # parsed fine, refused by the limit (deeper ones fail to parse at all)
        assert "nests deeper" in error
    list_arrays = "[" * depth + "]" * depth
    run_async = await api.http.post(
        f"/api/v1/workflows/{workflow}/run-async",
        content=('{"a": ' + list_arrays + "}").encode(),
        headers={**api.admin, **JSON},
    )
    assert_envelope(run_async)


@pytest.fixture
async def server_http(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    async with served(api.app) as http:
        yield http


@pytest.mark.parametrize("depth", [5000, 100_000])
async def test_a_deeply_nested_definition_is_a_4xx(
    api: Api, server_http: httpx.AsyncClient, depth: int
) -> None:
    workflow_id = slug()
    raw = (
        '{"id": "' + workflow_id + '", "name": "Deep", "steps": [{"id": "s", "kind": '
        '"transform", "with": {"value": ' + nested(depth) + "}}]}"
    )
    response = await server_http.post(
        "/api/v1/workflows", content=raw.encode(), headers={**api.admin, **JSON}
    )
    assert_envelope(response)
    yaml_doc = (
        f"id: {workflow_id}\nname: Deep\nsteps:\n  - id: s\n    kind: transform\n"
        f"    with:\n      value: {'[' * depth}{']' * depth}\n"
    )
    as_yaml = await server_http.post(
        "/api/v1/workflows",
        content=yaml_doc.encode(),
        headers={**api.admin, "Content-Type": "application/yaml"},
    )
    assert_envelope(as_yaml)
    version = await server_http.put(
        f"/api/v1/workflows/{workflow_id}", content=raw.encode(), headers={**api.admin, **JSON}
    )
    assert_envelope(version)


# ---- huge ids ------------------------------------------------------------------------

HUGE = "e" * 10_000

HUGE_REQUESTS = [
    ("GET", f"/api/v1/executions/exec_{HUGE}", None, None),
    ("GET", f"/api/v1/executions/exec_{HUGE}/events", None, None),
    ("GET", f"/api/v1/executions/exec_{HUGE}/checkpoints", None, None),
    ("GET", f"/api/v1/executions/exec_x/checkpoints/chk_{HUGE}", None, None),
    ("POST", f"/api/v1/executions/exec_{HUGE}/stop", None, None),
    ("POST", f"/api/v1/executions/exec_{HUGE}/signal", None, {"name": "x"}),
    ("POST", f"/api/v1/executions/exec_{HUGE}/rollback", None, {"checkpoint_id": "c"}),
    ("GET", f"/api/v1/workflows/{HUGE}", None, None),
    ("PUT", f"/api/v1/workflows/{HUGE}", None, {"id": HUGE, "name": "n", "steps": []}),
    ("POST", f"/api/v1/workflows/{HUGE}/run-async", None, {}),
    ("POST", f"/api/v1/workflows/{HUGE}/disable", None, None),
    ("DELETE", f"/api/v1/keys/{HUGE}", None, None),
    ("GET", "/api/v1/executions", {"workflow_id": HUGE}, None),
    ("GET", "/api/v1/executions", {"after": HUGE}, None),
    ("GET", "/api/v1/executions", {"status": HUGE}, None),
    ("GET", "/api/v1/failures", {"workflow_id": HUGE}, None),
    ("GET", "/api/v1/failures", {"after": HUGE}, None),
    ("POST", "/api/v1/executions", None, {"workflow_id": HUGE}),
    ("POST", "/api/v1/executions", None, {"workflow_id": "w", "idempotency_key": HUGE}),
    ("POST", "/api/v1/executions/exec_x/replay", None, {"checkpoint_id": HUGE}),
]


@pytest.mark.parametrize(("method", "path", "params", "body"), HUGE_REQUESTS)
async def test_huge_ids_are_a_4xx(
    api: Api, method: str, path: str, params: dict[str, str] | None, body: Any
) -> None:
    response = await api.http.request(method, path, params=params, json=body, headers=api.admin)
    assert_envelope(response)


async def test_a_huge_idempotency_key_header_is_a_4xx(api: Api, workflow: str) -> None:
    response = await api.http.post(
        "/api/v1/executions",
        json={"workflow_id": workflow},
        headers={**api.admin, "Idempotency-Key": HUGE},
    )
    assert_envelope(response)


# ---- unicode -------------------------------------------------------------------------


async def test_unicode_and_emoji_in_names_and_inputs_round_trip(api: Api) -> None:
    workflow_id = slug()
    name = "Fähre 🚢 渡し船 — ñandú ✓ \u00e9\u0301"
    created = await api.http.post(
        "/api/v1/workflows",
        json={
            **echo_workflow(workflow_id, name),
            "description": "🦀 \u026f\u01dd\u0287s\u028es 🧪",
        },
        headers=api.admin,
    )
    assert created.status_code == 201, created.text
    assert created.json()["name"] == name
    read = await api.http.get(f"/api/v1/workflows/{workflow_id}", headers=api.admin)
    assert read.status_code == 200 and read.json()["name"] == name
    assert read.json()["description"] == "🦀 \u026f\u01dd\u0287s\u028es 🧪"

    input_data = {
        "名前": "エイダ 👩‍💻",
        "emoji": "🚀🔥💯 👨‍👩‍👧‍👦 🏳️‍🌈",
        "rtl": "שלום עולם",
        "astral": "\U0001d518\U0001d52b\U0001d526 \U0010fffd",
        "quotes": "'\"\\`",
        "zero_width": "a\u200bb\ufeffc",
    }
    response = await api.http.post(
        "/api/v1/executions",
        json={"workflow_id": workflow_id, "input_data": input_data, "metadata": {"👤": "ada"}},
        headers=api.admin,
    )
    assert response.status_code == 201, response.text
    execution_id = response.json()["id"]
    done = await eventually(
        lambda: api.execution(execution_id), lambda e: e["status"] == "completed", timeout=20
    )
    assert done["input_data"] == input_data
    assert done["output"] == input_data
    assert done["metadata"] == {"👤": "ada"}
    by_name = await api.http.get(
        "/api/v1/executions", params={"workflow_id": workflow_id}, headers=api.admin
    )
    assert [item["id"] for item in by_name.json()["items"]] == [execution_id]


async def test_a_non_ascii_workflow_slug_is_refused_or_round_trips(api: Api) -> None:
    response = await api.http.post(
        "/api/v1/workflows", json=echo_workflow("fähre-🚢"), headers=api.admin
    )
    if response.status_code == 201:
        read = await api.http.get("/api/v1/workflows/fähre-🚢", headers=api.admin)
        assert read.status_code == 200 and read.json()["id"] == "fähre-🚢"
    else:
        assert_envelope(response, 400, 422)


# ---- NUL bytes -----------------------------------------------------------------------

NUL_REQUESTS = [
    ("GET", "/api/v1/executions/exec_%00abc", None),
    ("GET", "/api/v1/executions/exec_abc%00", None),
    ("GET", "/api/v1/executions/exec_%00/events", None),
    ("GET", "/api/v1/executions/exec_%00/checkpoints", None),
    ("GET", "/api/v1/executions/exec_%00/stream", None),
    ("POST", "/api/v1/executions/exec_%00/stop", None),
    ("POST", "/api/v1/executions/exec_%00/pause", None),
    ("POST", "/api/v1/executions/exec_%00/resume", None),
    ("GET", "/api/v1/executions/exec_abc/checkpoints/chk_%00_0", None),
    ("GET", "/api/v1/executions/exec_%00/checkpoints/chk_exec_%00_0", None),
    ("GET", "/api/v1/workflows/wf%00x", None),
    ("GET", "/api/v1/workflows/wf%00x/versions", None),
    ("POST", "/api/v1/workflows/wf%00x/disable", None),
    ("POST", "/api/v1/workflows/wf%00x/enable", None),
    ("POST", "/api/v1/workflows/wf%00x/run-async", None),
    ("DELETE", "/api/v1/keys/key%00", None),
    ("POST", "/api/v1/keys/key%00/rotate", None),
    ("GET", "/api/v1/executions?workflow_id=wf%00x", None),
    ("GET", "/api/v1/executions?workflow_id=%00", None),
    ("GET", "/api/v1/executions?status=running%00", None),
    ("GET", "/api/v1/executions?after=exec_%00", None),
    ("GET", "/api/v1/executions?limit=5&after=exec_%00", None),
    ("GET", "/api/v1/failures?workflow_id=wf%00x", None),
    ("GET", "/api/v1/failures?after=%00", None),
]


@pytest.mark.parametrize(("method", "path", "body"), NUL_REQUESTS)
async def test_nul_bytes_are_a_4xx(api: Api, method: str, path: str, body: Any) -> None:
    response = await api.http.request(method, path, json=body, headers=api.admin)
    assert_envelope(response)


async def test_nul_bytes_in_bodies_are_a_4xx_or_stored_faithfully(api: Api, workflow: str) -> None:
    bodies = [
        {"workflow_id": f"{workflow}\u0000"},
        {"workflow_id": "\u0000"},
    ]
    for body in bodies:
        response = await api.http.post("/api/v1/executions", json=body, headers=api.admin)
        assert_envelope(response)
    rollback = await api.http.post(
        "/api/v1/executions/exec_x/rollback",
        json={"checkpoint_id": "chk_\u0000"},
        headers=api.admin,
    )
    assert_envelope(rollback)
    # A NUL in an idempotency key is opaque data: accepted or refused, never a 500.
    keyed = await api.http.post(
        "/api/v1/executions",
        json={"workflow_id": workflow, "idempotency_key": "k\u0000"},
        headers=api.admin,
    )
    if keyed.status_code != 201:
        assert_envelope(keyed)
    definition = echo_workflow(f"{slug()}\u0000")
    created = await api.http.post("/api/v1/workflows", json=definition, headers=api.admin)
    assert_envelope(created)
    # A NUL inside an input value is data, not an id: it runs or is refused, never a 500.
    response = await api.http.post(
        "/api/v1/executions",
        json={"workflow_id": workflow, "input_data": {"s": "a\u0000b"}},
        headers=api.admin,
    )
    if response.status_code == 201:
        execution_id = response.json()["id"]
        done = await eventually(
            lambda: api.execution(execution_id), lambda e: e["status"] == "completed", timeout=20
        )
        assert done["output"] == {"s": "a\u0000b"}
    else:
        assert_envelope(response)


# ---- wrong JSON types ----------------------------------------------------------------

WRONG_TYPES: dict[str, list[Any]] = {
    "workflow_id": [None, 1, 1.5, True, [], {}, ["w"], {"id": "w"}, ""],
    "input_data": [1, "x", True, [], [1, 2], 1.5, "{}"],
    "metadata": [1, "x", True, [], [{"a": 1}], 1.5],
    "version": ["x", [], {}, 1.5, 0, -1, "one", [1]],
    "idempotency_key": [1, [], {}, True, ""],
}


@pytest.mark.parametrize("field", sorted(WRONG_TYPES))
async def test_wrong_json_types_for_each_field_are_422_with_details(
    api: Api, workflow: str, field: str
) -> None:
    for value in WRONG_TYPES[field]:
        body: dict[str, Any] = {"workflow_id": workflow, "input_data": {}, field: value}
        response = await api.http.post("/api/v1/executions", json=body, headers=api.admin)
        error = assert_envelope(response, 422)
        assert isinstance(error.get("details"), list) and error["details"], (value, error)
        assert any(field in detail["loc"] for detail in error["details"]), (value, error)
    assert await execution_ids(api, workflow) == []


ODD_BODIES = [b"", b"null", b"[]", b'[{"workflow_id": "w"}]', b"1", b'"x"', b"true", b"{", b"\x00"]


@pytest.mark.parametrize("raw", ODD_BODIES)
async def test_odd_bodies_are_a_4xx(api: Api, raw: bytes) -> None:
    for path in (
        "/api/v1/executions",
        "/api/v1/workflows",
        "/api/v1/executions/exec_x/signal",
        "/api/v1/executions/exec_x/rollback",
        "/api/v1/keys",
    ):
        response = await api.http.post(path, content=raw, headers={**api.admin, **JSON})
        assert_envelope(response)


async def test_odd_bodies_for_a_real_workflow_are_a_4xx(api: Api, workflow: str) -> None:
    for raw in (b"null", b"[]", b"[1]", b'"x"', b"{"):
        response = await api.http.post(
            f"/api/v1/workflows/{workflow}/run-async", content=raw, headers={**api.admin, **JSON}
        )
        if raw == b"null" and response.status_code == 202:
            continue  # run-async documents `null` as "no input"
        assert_envelope(response)
        version = await api.http.put(
            f"/api/v1/workflows/{workflow}", content=raw, headers={**api.admin, **JSON}
        )
        assert_envelope(version)


@pytest.mark.parametrize(
    "path",
    ["/api/v1/failures", "/api/v1/executions"],
)
@pytest.mark.parametrize(
    "cursor",
    ["none", "c1.none", "c1." + "AAAA" * 10, "c1.%%%", "c1.", "c3.", "c3..0.", "c3.AA.0.x",
     "c3.AAAA.-1.x", "c3.%%%.0.x"],
)  # fmt: skip
async def test_a_cursor_the_api_did_not_issue_is_a_4xx(api: Api, path: str, cursor: str) -> None:
    # Found by schemathesis: such tokens reached Temporal, which answered UNKNOWN (a 503
    # here) after its client's retries.
    response = await api.http.get(path, params={"after": cursor, "limit": 5}, headers=api.admin)
    assert assert_envelope(response, 422)["code"] == "invalid_cursor"


async def test_a_version_beyond_the_databases_integers_is_a_4xx(api: Api, workflow: str) -> None:
    # Found by schemathesis: it reached the metadata DB and raised OverflowError (a 500).
    huge = 10**30
    body = {"workflow_id": workflow, "version": huge}
    created = await api.http.post("/api/v1/executions", json=body, headers=api.admin)
    assert_envelope(created, 422)
    read = await api.http.get(
        f"/api/v1/workflows/{workflow}", params={"version": huge}, headers=api.admin
    )
    assert_envelope(read, 422)


# ---- filters -------------------------------------------------------------------------

DEEP_FILTER = "[" * 1000 + "]" * 1000  # 2 KB, past the JSON parser's recursion limit


@pytest.mark.parametrize("name", ["payload", "tags"])
async def test_a_filter_nested_a_thousand_deep_is_invalid_filter(
    api: Api, server_http: httpx.AsyncClient, name: str
) -> None:
    # Every route that takes the list filters parses them in one place.
    for method, path in (
        ("GET", "/v1/runs"),
        ("GET", "/v1/runs/dlq"),
        ("POST", "/v1/runs/bulk-cancel-all"),
        ("POST", "/v1/runs/bulk-dlq-replay"),
    ):
        response = await server_http.request(
            method, path, params={name: DEEP_FILTER}, headers=api.admin
        )
        body = assert_envelope(response, 422)
        assert body["code"] == "invalid_filter", (path, body)
        assert name in body["error"], body
    # Deeper than any stored payload can nest, but parseable: refused the same way.
    shallow = await server_http.get("/v1/runs", params={"payload": nested(100)}, headers=api.admin)
    assert assert_envelope(shallow, 422)["code"] == "invalid_filter"


# ---- lone surrogates -----------------------------------------------------------------

LONE = "\\ud800"  # as JSON spells it: a UTF-16 surrogate with no partner, not text


def raw_json(text: str) -> dict[str, Any]:
    return {"content": text.encode(), "headers": JSON}


async def test_a_lone_surrogate_anywhere_in_a_body_is_422_and_reserves_nothing(
    api: Api, server_http: httpx.AsyncClient, workflow: str
) -> None:
    key = f"k-{uuid.uuid4()}"
    requests = [
        (f"/v1/jobs/{workflow}/trigger", '{"payload": {"e": "' + LONE + '"}}'),
        (f"/v1/jobs/{workflow}/trigger", '{"metadata": {"e": "' + LONE + '"}}'),
        (f"/v1/jobs/{workflow}/trigger", '{"tags": {"e": "' + LONE + '"}}'),
        (f"/v1/jobs/{workflow}/trigger", '{"tags": {"' + LONE + '": "e"}}'),
        (f"/v1/jobs/{workflow}/batch-trigger", '{"items": [{"payload": {"e": "' + LONE + '"}}]}'),
        ("/v1/schedules", '{"job_id": "' + workflow + '", "cron": "@daily", "payload": {"e": "'
         + LONE + '"}}'),
        ("/api/v1/executions", '{"workflow_id": "' + workflow + '", "input_data": {"e": "'
         + LONE + '"}}'),
        ("/api/v1/executions", '{"workflow_id": "' + workflow + '", "metadata": {"e": "'
         + LONE + '"}}'),
        (f"/api/v1/workflows/{workflow}/run-async", '{"e": "x' + LONE + 'y"}'),
        ("/api/v1/workflows", json.dumps(echo_workflow(slug()))[:-1] + ', "description": "'
         + LONE + '"}'),
        # A low surrogate alone, and a high one followed by something else, are lone too.
        (f"/v1/jobs/{workflow}/trigger", '{"payload": {"e": "\\udc00"}}'),
        (f"/v1/jobs/{workflow}/trigger", '{"payload": {"e": "\\ud83d\\u0041"}}'),
    ]  # fmt: skip
    for path, text in requests:
        response = await server_http.post(
            path, content=text.encode(), headers={**api.admin, **JSON, "Idempotency-Key": key}
        )
        body = assert_envelope(response, 422)
        assert body["code"] == "validation_error", (path, body)
        assert "surrogate" in body["error"], body
    # Nothing was reserved: the corrected request under the same key starts its run.
    fixed = await api.http.post(
        f"/v1/jobs/{workflow}/trigger",
        json={"payload": {"e": "fixed"}},
        headers={**api.admin, "Idempotency-Key": key},
    )
    assert fixed.status_code == 201, fixed.text
    # A surrogate pair is how JSON spells a character beyond the BMP: that is text.
    pair = await server_http.post(
        "/api/v1/executions",
        content=(
            '{"workflow_id": "' + workflow + '", "input_data": {"e": "\\ud83d\\ude80"}}'
        ).encode(),
        headers={**api.admin, **JSON},
    )
    assert pair.status_code == 201, pair.text
    done = await eventually(
        lambda: api.execution(pair.json()["id"]), lambda e: e["status"] == "completed", timeout=20
    )
    assert done["output"] == {"e": "🚀"}


async def test_a_yaml_surrogate_escape_is_422(api: Api, server_http: httpx.AsyncClient) -> None:
    # YAML's parser does not join `\ud83d\ude80` into one character: both halves are lone.
    for escape in ("\\ud800", "\\U0000d800", "\\ud83d\\ude80"):
        step = "{id: a, kind: transform, with: {value: 1}}"
        document = f'id: {slug()}\nname: "x{escape}"\nsteps:\n  - {step}\n'
        response = await server_http.post(
            "/v1/jobs",
            content=document.encode(),
            headers={**api.admin, "Content-Type": "application/yaml"},
        )
        assert assert_envelope(response, 422)["code"] == "validation_error", escape


async def test_a_lone_surrogate_in_a_filter_is_invalid_filter(
    api: Api, server_http: httpx.AsyncClient
) -> None:
    for name in ("payload", "tags"):
        response = await server_http.get(
            "/v1/runs", params={name: '{"e": "' + LONE + '"}'}, headers=api.admin
        )
        assert assert_envelope(response, 422)["code"] == "invalid_filter", name


# ---- cursors -------------------------------------------------------------------------


def tampered(cursor: str) -> str:
    """An issued cursor with its page token altered, still well-formed base64 JSON."""
    prefix, _, rest = cursor.partition(".")
    token, dot, tail = rest.partition(".")
    decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    altered = dict.fromkeys(decoded, "2001-01-01") if isinstance(decoded, dict) else {}
    encoded = base64.urlsafe_b64encode(json.dumps(altered).encode()).decode().rstrip("=")
    return f"{prefix}.{encoded}{dot}{tail}"


async def two_pages(api: Api, workflow: str) -> None:
    """Three settled executions of `workflow`, so a page of two has a next one."""
    ids = [await api.run(workflow, {"n": n}) for n in range(3)]
    for execution_id in ids:
        await eventually(
            lambda execution_id=execution_id: api.execution(execution_id),  # type: ignore[misc]
            lambda e: e["status"] == "completed",
        )


async def test_a_tampered_cursor_is_refused_before_it_reaches_temporal(
    api: Api, workflow: str
) -> None:
    await two_pages(api, workflow)
    v1 = await api.http.get("/v1/runs", params={"job_id": workflow, "limit": 2}, headers=api.admin)
    api_v1 = await api.http.get(
        "/api/v1/executions", params={"workflow_id": workflow, "limit": 2}, headers=api.admin
    )
    cursors = [
        ("/v1/runs", "cursor", v1.headers["X-Next-Cursor"], {"job_id": workflow}),
        ("/api/v1/executions", "after", api_v1.json()["next_cursor"], {"workflow_id": workflow}),
    ]
    for path, name, cursor, filters in cursors:
        # Temporal would answer an altered token only after its client's retries (seconds).
        response = await api.http.get(
            path, params={**filters, "limit": 2, name: tampered(cursor)}, headers=api.admin
        )
        body = assert_envelope(response, 422)
        assert body["code"] == "invalid_cursor", body
        assert body["error"].startswith(f"{name}: "), body
        # A cursor is good for the list it came from only: other filters refuse it too.
        other = await api.http.get(path, params={name: cursor, "limit": 2}, headers=api.admin)
        assert assert_envelope(other, 422)["code"] == "invalid_cursor"
        # Untouched, it pages on.
        again = await api.http.get(
            path, params={**filters, "limit": 2, name: cursor}, headers=api.admin
        )
        assert again.status_code == 200, again.text


@pytest.mark.parametrize(
    ("path", "name"),
    [("/v1/runs", "cursor"), ("/v1/runs/dlq", "cursor"), ("/v1/schedules", "cursor"),
     ("/api/v1/executions", "after"), ("/api/v1/failures", "after")],
)  # fmt: skip
async def test_a_bad_cursor_is_named_as_its_surface_names_it(
    api: Api, path: str, name: str
) -> None:
    response = await api.http.get(path, params={name: "c1.garbage"}, headers=api.admin)
    body = assert_envelope(response, 422)
    assert body["code"] == "invalid_cursor"
    assert body["error"].startswith(f"{name}: "), body
    if name == "cursor":  # /v1 has no `after` (it answered with /api/v1's sentence)
        assert "after" not in body["error"], body


# ---- trigger fields ------------------------------------------------------------------


async def test_tags_with_control_characters_are_refused_at_trigger(api: Api, workflow: str) -> None:
    for tags in ({"team": "a\tb"}, {"te\nam": "a"}, {"team": "a\u0000"}):
        for path, body in (
            (f"/v1/jobs/{workflow}/trigger", {"tags": tags}),
            (f"/v1/jobs/{workflow}/batch-trigger", {"items": [{"tags": tags}]}),
        ):
            response = await api.http.post(path, json=body, headers=api.admin)
            error = assert_envelope(response, 422)
            assert error["code"] == "validation_error" and "tags" in error["error"], error
    assert await execution_ids(api, workflow) == []


async def test_an_expiry_not_after_the_schedule_is_refused(api: Api, workflow: str) -> None:
    for scheduled, expires in (
        ("2030-01-01T10:00:00Z", "2030-01-01T09:00:00Z"),
        ("2030-01-01T10:00:00Z", "2030-01-01T10:00:00Z"),
        ("2030-01-01T10:00:00Z", "2030-01-01T11:00:00+02:00"),  # 09:00 UTC
    ):
        item = {"scheduled_at": scheduled, "expires_at": expires}
        for path, body in (
            (f"/v1/jobs/{workflow}/trigger", item),
            (f"/v1/jobs/{workflow}/batch-trigger", {"items": [{}, item]}),
        ):
            response = await api.http.post(path, json=body, headers=api.admin)
            error = assert_envelope(response, 422)
            assert error["code"] == "validation_error", error
            assert "expires_at" in error["error"] and "scheduled_at" in error["error"], error
    assert await execution_ids(api, workflow) == []
