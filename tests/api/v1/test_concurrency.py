"""Concurrency limits over `/v1`: slots per key, held by a gate workflow, granted in priority
order then trigger order, freed by every way a holder ends. Observed from the outside: a run
executes from its `started_at` until its `finished_at`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.api import Api
from tests.support.polling import eventually
from tests.support.runs import trigger


def limited(job: str, limit: int, key: str | None = "{{ input.tenant }}") -> dict[str, Any]:
    """Each run holds its slot until it gets the `go` signal."""
    concurrency: dict[str, Any] = {"limit": limit}
    if key is not None:
        concurrency["key"] = key
    return {
        "id": job,
        "name": "Limited",
        "concurrency": concurrency,
        "steps": [
            {"id": "hold", "kind": "wait", "with": {"signal": "go"}},
            {"id": "done", "kind": "transform", "depends_on": ["hold"], "with": {"value": 1}},
        ],
        "output": "{{ steps.done.output }}",
    }


async def new_job(api: Api, limit: int, key: str | None = "{{ input.tenant }}") -> str:
    job = f"lim-{uuid.uuid4().hex[:8]}"
    await api.create_workflow(limited(job, limit, key))
    return job


async def runs_of(api: Api, job: str) -> dict[str, dict[str, Any]]:
    response = await api.http.get(
        "/v1/runs", params={"job_id": job, "limit": 100}, headers=api.admin
    )
    assert response.status_code == 200, response.text
    return {run["id"]: run for run in response.json()}


def executing(runs: dict[str, dict[str, Any]], tenant: str | None = None) -> set[str]:
    return {
        run_id
        for run_id, run in runs.items()
        if run["started_at"] is not None
        and run["finished_at"] is None
        and (tenant is None or run["payload"].get("tenant") == tenant)
    }


async def go(api: Api, run_id: str) -> None:
    response = await api.http.post(
        f"/api/v1/executions/{run_id}/signal", json={"name": "go"}, headers=api.admin
    )
    assert response.status_code == 200, response.text


async def settled(
    api: Api, job: str, expected: int, tenant: str | None = None, gone: str | None = None
) -> set[str]:
    """The runs executing once `expected` of them do (and `gone` no longer does); never
    more than `expected` meanwhile."""

    async def probe() -> set[str]:
        now = executing(await runs_of(api, job), tenant)
        assert len(now) <= expected, f"{len(now)} runs execute at once: {sorted(now)}"
        return now

    return await eventually(probe, lambda now: len(now) == expected and gone not in now)


async def release_in_turn(api: Api, job: str, order: list[str], limit: int) -> list[str]:
    """Let one holder finish at a time and note which queued run takes its slot: the order
    in which `order`'s runs started, never more than `limit` at once."""
    started: list[str] = sorted(executing(await runs_of(api, job)), key=order.index)
    holding = set(started)
    while len(started) < len(order):
        oldest = min(holding, key=order.index)
        await go(api, oldest)
        holding.discard(oldest)
        expected = min(limit, len(order) - len(started) + len(holding))
        now = await settled(api, job, expected, gone=oldest)
        newcomers = now - holding
        assert len(newcomers) == 1, f"one slot freed, but {sorted(newcomers)} started"
        started += sorted(newcomers)
        holding = now
    for run_id in holding:
        await go(api, run_id)
    return started


async def test_a_limit_of_two_holds_under_twenty_triggers_while_another_key_runs_beside_it(
    api: Api,
) -> None:
    job = await new_job(api, limit=2)
    tenant_a = [(await trigger(api, job, payload={"tenant": "a", "n": n}))["id"] for n in range(20)]
    tenant_b = [(await trigger(api, job, payload={"tenant": "b"}))["id"] for _ in range(2)]

    # Key b has slots of its own: both its runs execute while key a is full.
    assert await settled(api, job, 2, tenant="b") == set(tenant_b)
    first_two = await settled(api, job, 2, tenant="a")
    assert first_two == set(tenant_a[:2])  # trigger order
    runs = await runs_of(api, job)
    assert {runs[r]["status"] for r in tenant_a[2:]} == {"queued"}
    assert all(runs[r]["started_at"] is None for r in tenant_a[2:])
    assert {runs[r]["concurrency_key"] for r in tenant_a} == {"a"}
    assert {runs[r]["concurrency_key"] for r in tenant_b} == {"b"}
    for run_id in tenant_b:
        await go(api, run_id)
    await eventually(
        lambda: runs_of(api, job),
        lambda runs: all(runs[r]["status"] == "completed" for r in tenant_b),
    )

    started = await release_in_turn(api, job, tenant_a, limit=2)
    assert started == tenant_a  # equal priorities start in trigger order
    done = await eventually(
        lambda: runs_of(api, job),
        lambda runs: all(run["status"] == "completed" for run in runs.values()),
        timeout=60,
    )
    assert len(done) == 22


async def test_a_high_priority_run_overtakes_queued_low_ones(api: Api) -> None:
    job = await new_job(api, limit=1, key=None)  # the key defaults to the job id
    holder = (await trigger(api, job, payload={}))["id"]
    await settled(api, job, 1)
    low = [(await trigger(api, job, payload={}, priority=-5))["id"] for _ in range(3)]
    normal = (await trigger(api, job, payload={}))["id"]
    high = (await trigger(api, job, payload={}, priority=10))["id"]
    runs = await runs_of(api, job)
    assert [runs[r]["priority"] for r in (*low, normal, high)] == [-5, -5, -5, 0, 10]
    assert runs[holder]["concurrency_key"] == job

    order = [holder, *low, normal, high]
    started = await release_in_turn(api, job, order, limit=1)
    assert started == [holder, high, normal, *low]


async def test_a_canceled_holder_and_a_terminated_one_free_their_slots(api: Api) -> None:
    job = await new_job(api, limit=1, key=None)
    canceled = (await trigger(api, job, payload={}))["id"]
    await settled(api, job, 1)
    terminated = (await trigger(api, job, payload={}))["id"]
    last = (await trigger(api, job, payload={}))["id"]

    response = await api.http.delete(f"/v1/runs/{canceled}", headers=api.admin)
    assert response.status_code == 200, response.text
    assert await settled(api, job, 1, gone=canceled) == {terminated}

    # Terminated from outside (the run's code never runs again): the gate finds out itself.
    response = await api.http.post(
        f"/api/v1/executions/{terminated}/stop", params={"force": "true"}, headers=api.admin
    )
    assert response.status_code == 200, response.text
    assert await settled(api, job, 1, gone=terminated) == {last}
    await go(api, last)
    runs = await eventually(
        lambda: runs_of(api, job), lambda runs: runs[last]["status"] == "completed"
    )
    assert runs[canceled]["status"] == "canceled"
    assert runs[terminated]["status"] == "canceled"


async def test_a_run_that_expires_while_queued_gives_up_its_place(api: Api) -> None:
    job = await new_job(api, limit=1, key=None)
    holder = (await trigger(api, job, payload={}))["id"]
    await settled(api, job, 1)
    soon = datetime.now(UTC) + timedelta(seconds=1)
    expiring = await trigger(api, job, payload={}, expires_at=soon.isoformat())
    assert expiring["status"] == "queued"
    assert datetime.fromisoformat(expiring["expires_at"]) == soon.replace(
        microsecond=soon.microsecond
    )
    later = (await trigger(api, job, payload={}))["id"]

    runs = await eventually(
        lambda: runs_of(api, job), lambda runs: runs[expiring["id"]]["status"] == "expired"
    )
    gone = runs[expiring["id"]]
    assert gone["started_at"] is None
    assert "expired while queued" in gone["error"]
    await go(api, holder)
    assert await settled(api, job, 1, gone=holder) == {later}
    await go(api, later)


async def test_a_trigger_key_overrides_the_template_and_bad_keys_are_refused(api: Api) -> None:
    job = await new_job(api, limit=1)
    run = await trigger(api, job, payload={"tenant": "a"}, concurrency_key="vip")
    assert run["concurrency_key"] == "vip"
    await settled(api, job, 1)
    beside = await trigger(api, job, payload={"tenant": "a"})  # key a: a slot of its own
    assert beside["concurrency_key"] == "a"
    await settled(api, job, 2)

    for body, needle in (
        ({"concurrency_key": ""}, "concurrency_key"),
        ({"concurrency_key": "x" * 257}, "concurrency_key"),
        ({"concurrency_key": "bad\nkey"}, "control characters"),
        ({"payload": {"tenant": "t" * 300}}, "over the limit of 256"),
    ):
        response = await api.http.post(f"/v1/jobs/{job}/trigger", json=body, headers=api.admin)
        assert response.status_code == 422, response.text
        assert needle in response.json()["error"]
    for run_id in (run["id"], beside["id"]):
        await go(api, run_id)
