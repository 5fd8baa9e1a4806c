"""Counts per status (`visibility.count_by_status`, the dashboard's overview): a grouped
count split as single reads derive statuses, equal to one count per status, whether the
split reads rows or counts them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from ferryman.api.executions import visibility
from ferryman.api.executions.visibility import ListFilter
from ferryman.statuses import Status
from tests.support.api import Api
from tests.support.polling import eventually


def mixed_job(job_id: str) -> dict[str, Any]:
    """Fails when asked to, waits for approval unless told not to."""
    return {
        "id": job_id,
        "name": "Mixed",
        "steps": [
            {
                "id": "check",
                "kind": "activity",
                "activity": "test.flaky",
                "with": {"value": 1, "fatal": "{{ input.fail | default(false) }}"},
                "retry": {"max_attempts": 1},
            },
            {
                "id": "gate",
                "kind": "wait",
                "depends_on": ["check"],
                "if": "input.wait | default(false)",
                "with": {"signal": "go"},
            },
        ],
    }


async def statuses(api: Api, headers: dict[str, str], run_ids: list[str]) -> list[str]:
    answers = [await api.http.get(f"/v1/runs/{r}", headers=headers) for r in run_ids]
    return [str(answer.json()["status"]) for answer in answers]


@pytest.mark.parametrize("split_scan", [visibility.SPLIT_SCAN, 0])
async def test_counts_by_status_equal_a_count_per_status(
    api: Api, split_scan: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = f"counts-{uuid.uuid4().hex[:8]}"
    headers = await api.key_for(project=project)
    job = f"mixed-{uuid.uuid4().hex[:6]}"
    created = await api.http.post("/v1/jobs", json=mixed_job(job), headers=headers)
    assert created.status_code == 201, created.text
    payloads = [{}, {}, {"fail": True}, {"wait": True}, {"wait": True}]
    run_ids = []
    for payload in payloads:
        answer = await api.http.post(
            f"/v1/jobs/{job}/trigger", json={"payload": payload}, headers=headers
        )
        run_ids.append(answer.json()["id"])
    wanted = ["completed", "completed", "failed", "waiting", "waiting"]
    await eventually(lambda: statuses(api, headers, run_ids), lambda s: s == wanted)
    stopped = await api.http.delete(f"/v1/runs/{run_ids[-1]}", headers=headers)
    assert stopped.status_code == 200, stopped.text
    expected = {Status.COMPLETED: 2, Status.FAILED: 1, Status.WAITING: 1, Status.CANCELED: 1}
    monkeypatch.setattr(visibility, "SPLIT_SCAN", split_scan)
    reader = api.app.state.resources.executions.reader
    where = ListFilter(project)

    async def both() -> tuple[dict[Status, int], list[int]]:
        by_status = await reader.count_by_status(where)
        each = [ListFilter(project, statuses=frozenset({status})) for status in Status]
        one_each = await reader.counts(each)
        return by_status, one_each

    by_status, one_each = await eventually(
        both, lambda found: {s: n for s, n in found[0].items() if n} == expected
    )
    assert list(by_status.values()) == one_each
