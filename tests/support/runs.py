"""Shortcuts for `/v1` run tests: trigger a job, read a run (both must succeed)."""

from __future__ import annotations

from typing import Any

from tests.support.api import Api


async def trigger(api: Api, job: str, **body: Any) -> dict[str, Any]:
    """`POST /v1/jobs/{job}/trigger` with `body`; the run it answers."""
    response = await api.http.post(f"/v1/jobs/{job}/trigger", json=body, headers=api.admin)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def run_of(api: Api, run_id: str) -> dict[str, Any]:
    response = await api.http.get(f"/v1/runs/{run_id}", headers=api.admin)
    assert response.status_code == 200, response.text
    return dict(response.json())
