"""`/v1/schedules`: cron schedules on Temporal Schedules, over HTTP against the dev server."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from temporalio.client import Client

from ferryman.api.executions.ids import is_execution_id, new_execution_id
from tests.api.v1.test_jobs import RUN_KEYS, greeter, job_id, run_of
from tests.support.api import Api
from tests.support.paths import ROOT
from tests.support.polling import eventually

SCHEDULE_KEYS = {
    "id", "job_id", "job_version", "cron", "timezone", "payload", "paused", "next_run_at",
    "created_at",
}  # fmt: skip
EVERY_SECOND = "* * * * * * *"  # Temporal's 7-field form: second minute hour dom month dow year
CRON_RUN_ID = re.compile(r"^exec_[0-9A-Z]{26}-\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

Create = Callable[..., Awaitable[dict[str, Any]]]


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
async def job(api: Api) -> str:
    identifier = job_id()
    created = await api.http.post("/v1/jobs", json=greeter(identifier), headers=api.admin)
    assert created.status_code == 201, created.text
    return identifier


@pytest.fixture
async def create(api: Api) -> AsyncIterator[Create]:
    """Creates schedules of the default project and deletes them all afterwards, so none
    keeps firing into the rest of the session."""
    made: list[str] = []

    async def make(**body: Any) -> dict[str, Any]:
        response = await api.http.post("/v1/schedules", json=body, headers=api.admin)
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
        return dict(response.json())

    yield make
    for schedule_id in made:
        await api.http.delete(f"/v1/schedules/{schedule_id}", headers=api.admin)


async def listed(api: Api, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await api.http.get("/v1/schedules", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json())


async def cron_runs(api: Api, job: str) -> list[dict[str, Any]]:
    response = await api.http.get(
        "/v1/runs", params={"job_id": job, "triggered_by": "cron"}, headers=api.admin
    )
    assert response.status_code == 200, response.text
    return list(response.json())


def test_run_ids_take_a_firing_time_and_nothing_else() -> None:
    base = new_execution_id()
    assert is_execution_id(base) and is_execution_id(f"{base}-2026-11-24T06:00:00Z")
    for wrong in (
        f"{base}-2026-11-24T06:00:00+01:00",
        f"{base}-2026-11-24T06:00:00.5Z",
        f"{base}-2026-11-24",
        f"{base}-",
        f"{base}-2026-11-24T06:00:00Z\n",
        f"{base}\n",
        f"{base}-2026-11-24T06:00:00Z-2026-11-24T06:00:00Z",
    ):
        assert not is_execution_id(wrong), wrong


async def test_a_schedule_fires_by_itself_and_its_runs_are_runs(
    api: Api, job: str, create: Create
) -> None:
    schedule = await create(job_id=job, cron=EVERY_SECOND, payload={"name": "Ada"})
    assert set(schedule) == SCHEDULE_KEYS and schedule["id"].startswith("sched_")
    assert (schedule["job_id"], schedule["job_version"]) == (job, 1)
    assert (schedule["cron"], schedule["timezone"]) == (EVERY_SECOND, "UTC")
    assert schedule["payload"] == {"name": "Ada"} and schedule["paused"] is False
    now = datetime.now(UTC)
    assert now - timedelta(seconds=5) < when(schedule["created_at"]) <= now
    assert now - timedelta(seconds=1) < when(schedule["next_run_at"]) <= now + timedelta(seconds=2)
    # A new version of the job changes nothing (the schedule pinned version 1), and a manual
    # run is not among `triggered_by=cron`.
    v2 = await api.http.put(
        f"/api/v1/workflows/{job}", json={**greeter(job), "name": "v2"}, headers=api.admin
    )
    assert v2.status_code in (200, 201), v2.text
    manual = await api.http.post(f"/v1/jobs/{job}/trigger", json={}, headers=api.admin)
    assert manual.status_code == 201, manual.text
    # No trigger call: the cron spec alone starts them.
    runs = await eventually(lambda: cron_runs(api, job), lambda found: len(found) >= 2)
    assert manual.json()["id"] not in {run["id"] for run in runs}
    assert len({run["id"].split("-")[0] for run in runs}) == 1  # one action, many firings
    for run in runs:
        assert CRON_RUN_ID.match(run["id"]) and set(run) == RUN_KEYS
        assert (run["job_id"], run["triggered_by"]) == (job, "cron")
        assert (run["payload"], run["job_version"]) == ({"name": "Ada"}, 1)
    run_id = runs[-1]["id"]
    done = await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "completed")
    assert done["result"] == "hi Ada" and done["project_id"] == "default"
    fired = datetime.strptime(run_id.split("-", 1)[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert fired <= when(done["created_at"]) <= when(done["started_at"])  # its start time
    assert done["execution_trace"]["queue_wait_ms"] is not None
    assert done["created_by"] is not None  # the key that created the schedule
    same = await api.http.get(f"/api/v1/executions/{run_id}", headers=api.admin)
    assert same.status_code == 200 and same.json()["status"] == "completed"
    for path in ("events", "checkpoints", "lineage", "state"):
        answer = await api.http.get(f"/v1/runs/{run_id}/{path}", headers=api.admin)
        assert answer.status_code == 200, (path, answer.text)
    for wrong in (f"{run_id}x", run_id[:-1] + "+00:00"):
        missing = await api.http.get(f"/v1/runs/{wrong}", headers=api.admin)
        assert (missing.status_code, missing.json()["code"]) == (404, "execution_not_found")


async def test_a_finished_cron_run_rolls_back_and_replays_under_its_own_id(
    api: Api, job: str, create: Create
) -> None:
    await create(job_id=job, cron=EVERY_SECOND, payload={"name": "Cy"})
    runs = await eventually(lambda: cron_runs(api, job), bool)
    run_id = runs[-1]["id"]
    await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "completed")
    rolled = await api.http.post(
        f"/api/v1/executions/{run_id}/rollback",
        json={"checkpoint_id": f"chk_{run_id}_0"},
        headers=api.admin,
    )
    assert rolled.json() == {"execution_id": run_id, "status": "paused"}, rolled.text
    paused = await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "paused")
    assert (paused["triggered_by"], paused["payload"]) == ("cron", {"name": "Cy"})
    # The schedule's own id (the action's) never became a run.
    base = run_id.split("-", 1)[0]
    assert (await api.http.get(f"/v1/runs/{base}", headers=api.admin)).status_code == 404
    resumed = await api.http.post(f"/v1/runs/{run_id}/resume", headers=api.admin)
    assert resumed.status_code == 200, resumed.text
    done = await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "completed")
    assert done["result"] == "hi Cy"
    replayed = await api.http.post(f"/v1/runs/{run_id}/replay", headers=api.admin)
    assert replayed.status_code == 201, replayed.text
    assert replayed.json()["continuation_of"] == run_id
    assert replayed.json()["triggered_by"] == "retry"


async def test_list_read_pause_unpause_delete(
    api: Api, job: str, create: Create, temporal_client: Client
) -> None:
    schedule = await create(
        job_id=job, cron="0 6 * * 1-5", payload={"name": "Bo"}, timezone="Europe/Paris"
    )
    schedule_id = schedule["id"]
    path = f"/v1/schedules/{schedule_id}"
    read = await api.http.get(path, headers=api.admin)
    assert read.status_code == 200 and read.json() == schedule
    firing = when(schedule["next_run_at"]).astimezone(ZoneInfo("Europe/Paris"))
    assert (firing.hour, firing.minute, firing.weekday() < 5) == (6, 0, True)
    found = await eventually(
        lambda: listed(api, api.admin), lambda items: schedule_id in {s["id"] for s in items}
    )
    assert next(s for s in found if s["id"] == schedule_id) == schedule

    paused = await api.http.post(f"{path}/pause", headers=api.admin)
    assert paused.status_code == 200, paused.text
    assert paused.json()["paused"] is True and paused.json()["next_run_at"] is None
    assert (await temporal_client.get_schedule_handle(schedule_id).describe()).schedule.state.paused
    again = await api.http.post(f"{path}/pause", headers=api.admin)  # idempotent
    assert again.status_code == 200 and again.json()["paused"] is True
    assert (await api.http.get(path, headers=api.admin)).json()["paused"] is True
    await eventually(
        lambda: listed(api, api.admin),
        lambda items: any(s["id"] == schedule_id and s["paused"] for s in items),
    )

    unpaused = await api.http.post(f"{path}/unpause", headers=api.admin)
    assert unpaused.status_code == 200 and unpaused.json()["paused"] is False
    assert unpaused.json()["next_run_at"] == schedule["next_run_at"]
    again = await api.http.post(f"{path}/unpause", headers=api.admin)
    assert again.status_code == 200 and again.json()["paused"] is False

    deleted = await api.http.delete(path, headers=api.admin)
    assert deleted.status_code == 200 and deleted.json() == {"id": schedule_id, "deleted": True}
    for method, url in (("GET", path), ("DELETE", path), ("POST", f"{path}/pause")):
        gone = await api.http.request(method, url, headers=api.admin)
        assert (gone.status_code, gone.json()["code"]) == (404, "schedule_not_found")
    await eventually(
        lambda: listed(api, api.admin), lambda items: schedule_id not in {s["id"] for s in items}
    )


async def test_disabling_a_job_pauses_its_schedules_until_it_is_enabled(
    api: Api, job: str, create: Create
) -> None:
    other = job_id()
    created = await api.http.post("/v1/jobs", json=greeter(other), headers=api.admin)
    assert created.status_code == 201, created.text
    running = await create(job_id=job, cron="0 6 * * 1-5", payload={"name": "Bo"})
    held_by_user = await create(job_id=job, cron="0 7 * * *", payload={"name": "Al"})
    beside = await create(job_id=other, cron="0 6 * * 1-5", payload={"name": "Cy"})
    ids = {running["id"], held_by_user["id"], beside["id"]}
    await eventually(lambda: listed(api, api.admin), lambda items: ids <= {s["id"] for s in items})
    paused = await api.http.post(f"/v1/schedules/{held_by_user['id']}/pause", headers=api.admin)
    assert paused.status_code == 200, paused.text

    async def paused_now() -> dict[str, bool]:
        states = {}
        for schedule in (running, held_by_user, beside):
            read = await api.http.get(f"/v1/schedules/{schedule['id']}", headers=api.admin)
            assert read.status_code == 200, read.text
            states[schedule["id"]] = read.json()["paused"]
        return states

    disabled = await api.http.post(f"/api/v1/workflows/{job}/disable", headers=api.admin)
    assert disabled.status_code == 200, disabled.text
    assert await paused_now() == {
        running["id"]: True,
        held_by_user["id"]: True,
        beside["id"]: False,
    }
    refused = await api.http.post(f"/v1/schedules/{running['id']}/unpause", headers=api.admin)
    assert (refused.status_code, refused.json()["code"]) == (409, "workflow_disabled")
    assert "disabled" in refused.json()["error"]

    enabled = await api.http.post(f"/api/v1/workflows/{job}/enable", headers=api.admin)
    assert enabled.status_code == 200, enabled.text
    # What the disabling paused runs again; what a caller paused stays paused.
    assert await paused_now() == {
        running["id"]: False,
        held_by_user["id"]: True,
        beside["id"]: False,
    }
    read = await api.http.get(f"/v1/schedules/{running['id']}", headers=api.admin)
    assert read.json()["next_run_at"] == running["next_run_at"]


async def test_lists_page_with_a_cursor(api: Api, job: str) -> None:
    project = f"paged-{uuid.uuid4().hex[:8]}"
    key = await api.key_for(project=project)
    await api.http.post("/v1/jobs", json=greeter(job), headers=key)
    made = []
    for _ in range(3):
        response = await api.http.post(
            "/v1/schedules", json={"job_id": job, "cron": "@yearly"}, headers=key
        )
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
    try:
        await eventually(lambda: listed(api, key), lambda items: len(items) == 3)
        first = await api.http.get("/v1/schedules", params={"limit": 2}, headers=key)
        assert len(first.json()) == 2 and first.headers["X-Next-Cursor"]
        rest = await api.http.get(
            "/v1/schedules",
            params={"limit": 2, "cursor": first.headers["X-Next-Cursor"]},
            headers=key,
        )
        assert {s["id"] for s in first.json() + rest.json()} == set(made)
        bad = await api.http.get("/v1/schedules", params={"cursor": "nope"}, headers=key)
        assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")
    finally:
        for schedule_id in made:
            await api.http.delete(f"/v1/schedules/{schedule_id}", headers=key)


async def test_another_projects_key_sees_no_schedule(api: Api, job: str, create: Create) -> None:
    schedule = await create(job_id=job, cron="@daily")
    other = await api.key_for(project=f"other-{uuid.uuid4().hex[:8]}")
    path = f"/v1/schedules/{schedule['id']}"
    await eventually(
        lambda: listed(api, api.admin), lambda items: schedule["id"] in {s["id"] for s in items}
    )
    assert await listed(api, other) == []
    for method, url in (
        ("GET", path),
        ("POST", f"{path}/pause"),
        ("POST", f"{path}/unpause"),
        ("DELETE", path),
    ):
        response = await api.http.request(method, url, headers=other)
        assert (response.status_code, response.json()["code"]) == (404, "schedule_not_found")
    # Nor can it schedule the default project's job: it does not exist in its project.
    foreign = await api.http.post(
        "/v1/schedules", json={"job_id": job, "cron": "@daily"}, headers=other
    )
    assert (foreign.status_code, foreign.json()["code"]) == (404, "workflow_not_found")
    mine = await api.http.get(path, headers=api.admin)
    assert mine.status_code == 200 and mine.json()["paused"] is False


async def test_every_refusal_is_a_clear_4xx(api: Api, job: str) -> None:
    cases: list[tuple[dict[str, Any], int, str, str | None]] = [
        ({"job_id": "no-such-job", "cron": "@daily"}, 404, "workflow_not_found", None),
        ({"job_id": job, "cron": "@daily", "payload": {"name": 5}}, 422, "input_invalid", None),
        ({"job_id": job, "cron": "nonsense"}, 422, "validation_error", "cron"),
        ({"job_id": job, "cron": "61 * * * *"}, 422, "validation_error", "cron"),
        ({"job_id": job, "cron": "* * * * * * * *"}, 422, "validation_error", "cron"),
        ({"job_id": job, "cron": "TZ=Europe/Paris 0 6 * * *"}, 422, "validation_error", "cron"),
        ({"job_id": job, "cron": "   "}, 422, "validation_error", "cron"),
        ({"job_id": job, "cron": "@daily", "timezone": "Mars/Olympus"}, 422, "validation_error",
         "timezone"),
        ({"job_id": job, "cron": "@daily", "timezone": "../../etc/passwd"}, 422,
         "validation_error", "timezone"),
        ({"job_id": job, "cron": "@daily", "surprise": 1}, 422, "validation_error", None),
        ({"job_id": job}, 422, "validation_error", None),
    ]  # fmt: skip
    for body, status, code, field in cases:
        response = await api.http.post("/v1/schedules", json=body, headers=api.admin)
        answer = response.json()
        assert (response.status_code, answer["code"]) == (status, code), (body, response.text)
        assert answer["error"] and "Temporal" not in answer["error"], answer
        if field is not None:
            assert answer["details"][0]["loc"] == ["body", field], answer
    await api.http.post(f"/api/v1/workflows/{job}/disable", headers=api.admin)
    disabled = await api.http.post(
        "/v1/schedules", json={"job_id": job, "cron": "@daily"}, headers=api.admin
    )
    assert (disabled.status_code, disabled.json()["code"]) == (409, "workflow_disabled")
    for schedule_id in ("nope", "sched_" + "0" * 26, "sched_01JD3ZK8Q4V7M2N5P8R1T4W7Y0'"):
        missing = await api.http.get(f"/v1/schedules/{schedule_id}", headers=api.admin)
        assert (missing.status_code, missing.json()["code"]) == (404, "schedule_not_found")
    reader = await api.key_for(scopes=["executions:read"])
    refused = await api.http.post(
        "/v1/schedules", json={"job_id": job, "cron": "@daily"}, headers=reader
    )
    assert refused.status_code == 403
    assert (await api.http.get("/v1/schedules", headers=reader)).status_code == 200
    executor = await api.key_for(scopes=["workflows:execute"])
    assert (await api.http.get("/v1/schedules", headers=executor)).status_code == 403


async def test_the_cron_report_example_runs_on_its_schedule(api: Api, create: Create) -> None:
    document = yaml.safe_load((ROOT / "examples/cron-report.yaml").read_text())
    document["id"] = job_id()
    created = await api.http.post("/v1/jobs", json=document, headers=api.admin)
    assert created.status_code == 201, created.text
    await create(job_id=document["id"], cron=EVERY_SECOND, payload={"team": "growth"})
    runs = await eventually(
        lambda: api.http.get(
            "/v1/runs",
            params={"job_id": document["id"], "triggered_by": "cron", "status": "completed"},
            headers=api.admin,
        ),
        lambda response: bool(response.json()),
    )
    run = runs.json()[0]
    assert run["result"] == f"Report for growth (run {run['id']})"
