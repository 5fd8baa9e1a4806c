"""Dead letters: a retryable error that outlives its last attempt parks the run; a redrive
runs it again from its last checkpoint under the same id, without re-running what is done."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from tests.support.activities import CALLS
from tests.support.api import Api
from tests.support.polling import eventually


def parked_job(identifier: str, marker: Path) -> dict[str, Any]:
    return {
        "id": identifier,
        "name": "Parked",
        "steps": [
            {"id": "first", "kind": "activity", "activity": "test.flaky", "with": {"value": 1}},
            {
                "id": "fragile",
                "kind": "activity",
                "activity": "test.until",
                "depends_on": ["first"],
                "with": {"marker": str(marker), "value": "fixed"},
                "retry": {"max_attempts": 2, "backoff": "fixed", "initial_delay_secs": 0.1},
            },
        ],
        "output": "{{ steps.fragile.output.value }}",
    }


async def run_of(api: Api, run_id: str) -> dict[str, Any]:
    return dict((await api.http.get(f"/v1/runs/{run_id}", headers=api.admin)).json())


async def dead(api: Api, job: str, marker: Path) -> str:
    response = await api.http.post(f"/v1/jobs/{job}/trigger", headers=api.admin)
    run_id = str(response.json()["id"])
    await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "dead_letter")
    return run_id


async def test_a_dead_lettered_run_is_redriven_from_its_last_checkpoint(
    api: Api, tmp_path: Path
) -> None:
    job = f"dlq-{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "fixed"
    await api.create_workflow(parked_job(job, marker))
    run_id = await dead(api, job, marker)
    parked = await run_of(api, run_id)
    assert "fragile" in parked["error"] and parked["finished_at"] is not None
    # The executions surface shows it as failed, saying which failure.
    execution = await api.execution(run_id)
    assert (execution["status"], execution["error"]) == ("failed", "dead_letter")
    queue = await api.http.get("/v1/runs/dlq", params={"job_id": job}, headers=api.admin)
    assert [r["id"] for r in queue.json()] == [run_id]
    assert CALLS[f"{run_id}:first"] == 1 and CALLS[f"{run_id}:fragile"] == 2

    marker.touch()  # the fault is fixed
    redriven = await api.http.post(f"/v1/runs/{run_id}/dlq-replay", headers=api.admin)
    assert redriven.status_code == 200, redriven.text
    assert redriven.json()["id"] == run_id
    done = await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "completed")
    assert done["result"] == "fixed"
    assert CALLS[f"{run_id}:first"] == 1  # completed before: not run again
    assert CALLS[f"{run_id}:fragile"] == 3
    queue = await api.http.get("/v1/runs/dlq", params={"job_id": job}, headers=api.admin)
    assert queue.json() == []
    again = await api.http.post(f"/v1/runs/{run_id}/dlq-replay", headers=api.admin)
    assert again.status_code == 409 and again.json()["code"] == "run_not_dead_lettered"
    # One row per run, also after the redrive started a new Temporal run under its id.
    rows = await api.http.get("/v1/runs", params={"job_id": job}, headers=api.admin)
    assert [r["id"] for r in rows.json()] == [run_id]


async def test_bulk_redrive_takes_all_or_the_filtered_dead_letters(
    api: Api, tmp_path: Path
) -> None:
    job = f"dlq-{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "fixed"
    await api.create_workflow(parked_job(job, marker))
    parked = {await dead(api, job, marker) for _ in range(2)}
    marker.touch()
    redriven = await api.http.post(
        "/v1/runs/bulk-dlq-replay", params={"job_id": job}, headers=api.admin
    )
    assert redriven.status_code == 200, redriven.text
    assert redriven.json()["count"] == 2
    assert {r["id"] for r in redriven.json()["replayed"]} == parked
    for run_id in parked:
        await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "completed")  # noqa: B023
    nothing = await api.http.post(
        "/v1/runs/bulk-dlq-replay", params={"job_id": job}, headers=api.admin
    )
    assert nothing.json() == {"replayed": [], "count": 0}


async def test_dead_lettering_can_be_turned_off(api: Api, tmp_path: Path) -> None:
    job = f"dlq-{uuid.uuid4().hex[:8]}"
    await api.create_workflow({**parked_job(job, tmp_path / "never"), "dead_letter": False})
    response = await api.http.post(f"/v1/jobs/{job}/trigger", headers=api.admin)
    run_id = response.json()["id"]
    failed = await eventually(lambda: run_of(api, run_id), lambda r: r["status"] == "failed")
    assert "fragile" in failed["error"]
