"""Delayed runs and expiry over `/v1`: `scheduled_at` holds a run `delayed` on a durable
timer inside it, `reschedule` moves that timer, `expires_at` ends a run that has not started
its first step by then."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.api import Api
from tests.support.polling import eventually
from tests.support.runs import run_of, trigger


async def new_job(api: Api) -> str:
    job = f"sched-{uuid.uuid4().hex[:8]}"
    await api.create_workflow(
        {
            "id": job,
            "name": "Scheduled",
            "steps": [{"id": "echo", "kind": "transform", "with": {"value": "{{ input.n }}"}}],
            "output": "{{ steps.echo.output }}",
        }
    )
    return job


def at(seconds: float) -> datetime:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0)


def moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def test_a_delayed_run_waits_until_rescheduled_then_runs(api: Api) -> None:
    job = await new_job(api)
    later = at(3600)
    run = await trigger(api, job, payload={"n": 7}, scheduled_at=later.isoformat())
    assert run["status"] == "delayed"
    assert moment(run["scheduled_at"]) == later

    delayed = await eventually(
        lambda: run_of(api, run["id"]),
        lambda r: r["status"] == "delayed" and r["execution_trace"]["queue_wait_ms"] is not None,
    )
    assert delayed["started_at"] is None  # the worker has it; no step may start before then
    listed = await api.http.get(
        "/v1/runs", params={"job_id": job, "status": "delayed"}, headers=api.admin
    )
    assert [r["id"] for r in listed.json()] == [run["id"]]

    sooner = at(1)
    response = await api.http.post(
        f"/v1/runs/{run['id']}/reschedule",
        json={"scheduled_at": sooner.isoformat()},
        headers=api.admin,
    )
    assert response.status_code == 200, response.text
    assert moment(response.json()["scheduled_at"]) == sooner
    done = await eventually(lambda: run_of(api, run["id"]), lambda r: r["status"] == "completed")
    assert done["result"] == 7
    assert moment(done["scheduled_at"]) == sooner
    started = moment(done["started_at"])
    assert started is not None and started >= sooner

    # Once it has left `delayed`, a run cannot be rescheduled.
    response = await api.http.post(
        f"/v1/runs/{run['id']}/reschedule",
        json={"scheduled_at": later.isoformat()},
        headers=api.admin,
    )
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "run_not_delayed"
    assert "completed" in response.json()["error"]


async def test_a_run_scheduled_in_the_past_starts_at_once(api: Api) -> None:
    job = await new_job(api)
    run = await trigger(api, job, payload={"n": 1}, scheduled_at=at(-60).isoformat())
    assert run["status"] != "delayed"  # queued, or already further along
    done = await eventually(lambda: run_of(api, run["id"]), lambda r: r["status"] == "completed")
    assert done["result"] == 1


async def test_expiry_while_delayed_and_an_expiry_that_comes_too_late(api: Api) -> None:
    job = await new_job(api)
    # A trigger whose expiry is not after its start is refused (it could only expire), so a
    # run expires while delayed when it is rescheduled past its expiry.
    doomed = await trigger(
        api, job, payload={"n": 1}, scheduled_at=at(30).isoformat(), expires_at=at(31).isoformat()
    )
    moved = await api.http.post(
        f"/v1/runs/{doomed['id']}/reschedule",
        json={"scheduled_at": at(3600).isoformat()},
        headers=api.admin,
    )
    assert moved.status_code == 200, moved.text
    expired = await eventually(
        lambda: run_of(api, doomed["id"]), lambda r: r["status"] == "expired", timeout=60
    )
    assert expired["started_at"] is None and expired["result"] is None
    assert "expired while delayed" in expired["error"]
    assert expired["finished_at"] is not None
    listed = await api.http.get(
        "/v1/runs", params={"job_id": job, "status": "expired"}, headers=api.admin
    )
    assert [r["id"] for r in listed.json()] == [doomed["id"]]

    # Started before its expiry: the expiry no longer matters.
    on_time = await trigger(api, job, payload={"n": 2}, expires_at=at(2).isoformat())
    done = await eventually(lambda: run_of(api, on_time["id"]), lambda r: r["finished_at"])
    assert done["status"] == "completed"


async def test_schedule_fields_refused_with_a_sentence(api: Api) -> None:
    job = await new_job(api)
    for body, needle in (
        ({"scheduled_at": "tomorrow"}, "scheduled_at"),
        ({"scheduled_at": "2026-12-01T09:00:00"}, "timezone"),
        ({"expires_at": 5}, "expires_at"),
    ):
        response = await api.http.post(f"/v1/jobs/{job}/trigger", json=body, headers=api.admin)
        assert response.status_code == 422, response.text
        assert needle in response.json()["error"]

    run = await trigger(api, job, payload={"n": 1}, scheduled_at=at(3600).isoformat())
    bodies: list[dict[str, Any]] = [
        {},
        {"scheduled_at": "soon"},
        {"scheduled_at": at(5).isoformat(), "x": 1},
    ]
    for body in bodies:
        response = await api.http.post(
            f"/v1/runs/{run['id']}/reschedule", json=body, headers=api.admin
        )
        assert response.status_code == 422, response.text
    response = await api.http.post(
        "/v1/runs/exec_00000000000000000000000000/reschedule",
        json={"scheduled_at": at(5).isoformat()},
        headers=api.admin,
    )
    assert response.status_code == 404
    await api.http.delete(f"/v1/runs/{run['id']}", headers=api.admin)
    canceled = await eventually(lambda: run_of(api, run["id"]), lambda r: r["finished_at"])
    assert canceled["status"] == "canceled" and canceled["started_at"] is None
