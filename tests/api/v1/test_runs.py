"""`/v1/runs`: the list, its filters and cursor, and what one run read shows."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.common import SearchAttributePair, TypedSearchAttributes

from ferryman import search_attributes as sa
from ferryman.api.executions.ids import new_execution_id
from ferryman.settings import Settings
from ferryman.workflows import models as m
from ferryman.workflows import runs
from ferryman.workflows.dsl import WorkflowDefinition
from ferryman.workflows.snapshot import DefinitionSnapshot
from tests.support.api import Api
from tests.support.polling import eventually


def job_id() -> str:
    return f"runs-{uuid.uuid4().hex[:10]}"


def echo_job(identifier: str) -> dict[str, Any]:
    return {
        "id": identifier,
        "name": "Echo",
        "steps": [{"id": "copy", "kind": "transform", "with": {"value": "{{ input }}"}}],
        "output": "{{ steps.copy.output }}",
    }


async def trigger(api: Api, job: str, **body: Any) -> dict[str, Any]:
    response = await api.http.post(f"/v1/jobs/{job}/trigger", json=body, headers=api.admin)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def listed(api: Api, **params: Any) -> list[str]:
    response = await api.http.get("/v1/runs", params=params, headers=api.admin)
    assert response.status_code == 200, response.text
    return [run["id"] for run in response.json()]


async def test_filters_find_exactly_the_runs_they_name(api: Api) -> None:
    job = job_id()
    await api.create_workflow(echo_job(job))
    since = datetime.now(UTC) - timedelta(seconds=1)
    red = await trigger(api, job, payload={"n": 1}, tags={"color": "red", "size": "s"})
    blue = await trigger(api, job, payload={"n": 2}, tags={"color": "blue", "size": "s"})
    until = datetime.now(UTC) + timedelta(seconds=1)
    both = {red["id"], blue["id"]}
    await eventually(lambda: listed(api, job_id=job), lambda ids: set(ids) == both)
    assert set(await listed(api, job_id=job, tags=json.dumps({"size": "s"}))) == both
    assert await listed(api, job_id=job, tags=json.dumps({"color": "red", "size": "s"})) == [
        red["id"]
    ]
    assert await listed(api, job_id=job, tags=json.dumps({"color": "green"})) == []
    assert set(await listed(api, job_id=job, triggered_by="manual")) == both
    assert await listed(api, job_id=job, triggered_by="cron") == []
    window = {"created_after": since.isoformat(), "created_before": until.isoformat()}
    assert set(await listed(api, job_id=job, **window)) == both
    later = {"created_after": until.isoformat()}
    assert await listed(api, job_id=job, **later) == []
    done = await eventually(
        lambda: listed(api, job_id=job, status="completed"), lambda ids: set(ids) == both
    )
    assert set(done) == both
    # Repeated or comma-separated: any of them.
    statuses: list[tuple[str, str | int | float | bool | None]] = [
        ("status", "completed"),
        ("status", "failed,canceled"),
        ("job_id", job),
    ]
    response = await api.http.get("/v1/runs", params=statuses, headers=api.admin)
    assert {run["id"] for run in response.json()} == both
    assert await listed(api, job_id=job, status="failed,canceled") == []


TRICKY_TAGS: list[dict[str, str]] = [
    {"a=b": "c"},
    {"a": "b=c"},
    {"a": "B=C"},  # SQLite's FTS5 folds case
    {"a": "b-c"},  # and punctuation
    {"a": "b c"},
    {"a\\": "=b"},  # and fails on a backslash or a double quote
    {"a": 'say "b=c"'},
]


async def test_a_tag_filter_matches_exactly_the_pair_it_names(api: Api) -> None:
    # `key=value` items once made {"a=b": "c"} and {"a": "b=c"} the same tag, and the dev
    # server's full-text matching of items made many others one.
    job = job_id()
    await api.create_workflow(echo_job(job))
    tagged = [(tags, (await trigger(api, job, tags=tags))["id"]) for tags in TRICKY_TAGS]
    await eventually(lambda: listed(api, job_id=job), lambda ids: len(ids) == len(tagged))
    for tags, run_id in tagged:
        assert await listed(api, job_id=job, tags=json.dumps(tags)) == [run_id], tags


async def start_as_before_tokens(
    api: Api, settings: Settings, job: str, tags: dict[str, str]
) -> str:
    """A run as an earlier release started it: its tags as `key=value` items."""
    definition = WorkflowDefinition.model_validate(echo_job(job))
    params = m.ExecutionInput(
        execution_id=new_execution_id(),
        project_id="default",
        workflow_id=job,
        workflow_name=definition.name,
        version=1,
        definition=DefinitionSnapshot.of(definition, settings.heartbeat_secs),
        run=m.RunSettings(tags=tags),
    )
    start = runs.RunStart(created_at=datetime.now(UTC), record={"tags": tags})
    attributes = [pair for pair in runs.search_attributes(params, start) if pair.key != sa.TAGS]
    items = [f"{key}={value}" for key, value in sorted(tags.items())]
    client = api.app.state.resources.client
    await client.start_workflow(
        job,
        params,
        id=params.execution_id,
        task_queue=settings.task_queue,
        search_attributes=TypedSearchAttributes([*attributes, SearchAttributePair(sa.TAGS, items)]),
        memo=runs.start_memo(params, start),
    )
    return params.execution_id


async def test_runs_tagged_before_tags_were_tokens_are_still_found(
    api: Api, base_settings: Settings
) -> None:
    job = job_id()
    await api.create_workflow(echo_job(job))
    before = await start_as_before_tokens(api, base_settings, job, {"team": "core", "n": "a=b"})
    now = (await trigger(api, job, tags={"team": "core"}))["id"]
    await eventually(lambda: listed(api, job_id=job), lambda ids: len(ids) == 2)
    assert set(await listed(api, job_id=job, tags=json.dumps({"team": "core"}))) == {before, now}
    both = {"team": "core", "n": "a=b"}
    assert await listed(api, job_id=job, tags=json.dumps(both)) == [before]
    assert await listed(api, job_id=job, tags=json.dumps({"team": "ops"})) == []
    run = await api.http.get(f"/v1/runs/{before}", headers=api.admin)
    assert run.json()["tags"] == both


async def test_pages_follow_the_next_cursor_header(api: Api) -> None:
    job = job_id()
    await api.create_workflow(echo_job(job))
    started = {(await trigger(api, job, payload={"n": n}))["id"] for n in range(5)}
    # Settled first: visibility lists running runs before closed ones, so a run that closes
    # between two pages moves and may be listed twice (the README says so).
    await eventually(lambda: listed(api, job_id=job, status="completed"), lambda ids: len(ids) == 5)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"job_id": job, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = await api.http.get("/v1/runs", params=params, headers=api.admin)
        page = [run["id"] for run in response.json()]
        assert len(page) <= 2
        seen += page
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            break
    assert len(seen) == 5 and set(seen) == started


async def test_payload_containment_is_exact_for_nested_and_large_payloads(api: Api) -> None:
    job = job_id()
    await api.create_workflow(echo_job(job))
    big = {"order": {"id": 7, "lines": [{"sku": f"s{n}", "qty": n} for n in range(400)]}}
    runs = {
        "nested": await trigger(
            api, job, payload={"user": {"name": "ada", "roles": ["admin", "dev"]}, "n": 1}
        ),
        "other": await trigger(
            api, job, payload={"user": {"name": "bob", "roles": ["dev"]}, "n": 1.0}
        ),
        "big": await trigger(api, job, payload=big),
        "strings": await trigger(api, job, payload={"n": "1", "flag": True}),
    }
    ids = {name: run["id"] for name, run in runs.items()}
    await eventually(lambda: listed(api, job_id=job), lambda found: len(found) == 4)
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"user": {"name": "ada"}}, {"nested"}),
        ({"user": {"roles": ["dev"]}}, {"nested", "other"}),
        ({"user": {"roles": ["admin", "dev"]}}, {"nested"}),
        ({"user": {"roles": ["ops"]}}, set()),
        ({"n": 1}, {"nested", "other"}),  # 1 and 1.0 are the same number
        ({"n": "1"}, {"strings"}),
        ({"flag": True}, {"strings"}),
        ({"order": {"id": 7}}, {"big"}),
        ({"order": {"lines": [{"sku": "s399", "qty": 399}]}}, {"big"}),
        ({"order": {"lines": [{"sku": "s399", "qty": 398}]}}, set()),
        ({}, {"nested", "other", "big", "strings"}),
    ]
    for wanted, names in cases:
        found = await listed(api, job_id=job, payload=json.dumps(wanted))
        assert set(found) == {ids[name] for name in names}, wanted


async def test_bad_filters_are_refused_with_the_vocabulary(api: Api) -> None:
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"status": "nope"}, 422, "invalid_filter"),
        ({"status": "completed,nope"}, 422, "invalid_filter"),
        ({"tags": "[1]"}, 422, "invalid_filter"),
        ({"tags": '{"a": 1}'}, 422, "invalid_filter"),
        ({"payload": "not json"}, 422, "invalid_filter"),
        ({"payload": "[1, 2]"}, 422, "invalid_filter"),
        ({"triggered_by": "magic"}, 422, "validation_error"),
        ({"created_after": "yesterday"}, 422, "validation_error"),
        ({"created_after": "2026-01-01T00:00:00"}, 422, "invalid_filter"),
        ({"limit": 0}, 422, "validation_error"),
        ({"limit": 101}, 422, "validation_error"),
        ({"cursor": "c2.bm9wZQ"}, 422, "invalid_cursor"),
        ({"project_id": "someone-else"}, 403, "project_mismatch"),
    ]
    for params, status, code in cases:
        response = await api.http.get("/v1/runs", params=params, headers=api.admin)
        assert (response.status_code, response.json()["code"]) == (status, code), params
    vocabulary = await api.http.get("/v1/runs", params={"status": "nope"}, headers=api.admin)
    assert "dead_letter" in vocabulary.json()["error"] and "dequeued" in vocabulary.json()["error"]
    own = await api.http.get("/v1/runs", params={"project_id": "default"}, headers=api.admin)
    assert own.status_code == 200


async def test_one_run_shows_its_heartbeat_and_http_timings(api: Api, http_target: str) -> None:
    job = job_id()
    await api.create_workflow(
        {
            "id": job,
            "name": "Timed",
            "defaults": {"heartbeat_secs": 1},
            "steps": [
                {"id": "call", "kind": "http", "with": {"url": f"{http_target}/healthz"}},
                {
                    "id": "slow",
                    "kind": "activity",
                    "activity": "test.quiet",
                    "depends_on": ["call"],
                    "with": {"seconds": 3},
                },
            ],
        }
    )
    run = await trigger(api, job)

    async def read() -> dict[str, Any]:
        response = await api.http.get(f"/v1/runs/{run['id']}", headers=api.admin)
        return dict(response.json())

    beating = await eventually(read, lambda r: r["heartbeat_at"] is not None, timeout=20)
    assert beating["status"] == "executing"
    done = await eventually(read, lambda r: r["status"] == "completed", timeout=30)
    trace = done["execution_trace"]
    assert trace["ttfb_ms"] > 0 and trace["connect_ms"] >= 0 and trace["transfer_ms"] >= 0
    assert trace["dispatch_ms"] >= 0 and trace["total_ms"] >= 3000
    # Lists show what the run recorded itself, without reading its history.
    row = next(
        r
        for r in (await api.http.get("/v1/runs", params={"job_id": job}, headers=api.admin)).json()
    )
    assert row["execution_trace"]["ttfb_ms"] == trace["ttfb_ms"]
    assert row["execution_trace"]["queue_wait_ms"] == trace["queue_wait_ms"]
