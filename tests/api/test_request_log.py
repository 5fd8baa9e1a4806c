"""One structured line per HTTP request, from `ferryman api` as its own process (JSON logs):
method, route template, status, duration, request id (the one answered in `X-Request-ID`
and in error bodies), project and run id; probes and scrapes left out unless asked. And
where the API's metrics are served: its own port, or `FERRYMAN_METRICS_PORT`."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from ferryman.processes import free_port
from ferryman.settings import Settings
from tests.support.api_process import ApiProcess
from tests.support.metrics import scrape
from tests.support.polling import eventually


def request_lines(log: Path) -> list[dict[str, Any]]:
    lines = []
    for line in log.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("event") == "request":
            lines.append(record)
    return lines


async def logged(api: ApiProcess, request_id: str) -> dict[str, Any]:
    """The one line of request `request_id` (it is written once the answer is sent)."""

    async def read() -> list[dict[str, Any]]:
        return [line for line in request_lines(api.log) if line["request_id"] == request_id]

    found = await eventually(read, lambda lines: len(lines) >= 1, timeout=10)
    assert len(found) == 1, found
    return found[0]


async def test_one_line_per_request_with_its_route_ids_and_project(
    base_settings: Settings, tmp_path: Path
) -> None:
    api = ApiProcess(base_settings, tmp_path)
    api.env["FERRYMAN_LOG_FORMAT"] = "json"
    project = api.env["FERRYMAN_BOOTSTRAP_PROJECT"]
    await api.start()
    try:
        async with httpx.AsyncClient(base_url=api.url, headers=api.headers, timeout=20) as http:
            job = f"logged-{uuid.uuid4().hex[:8]}"
            document = {
                "id": job,
                "name": "Logged",
                "steps": [{"id": "t", "kind": "transform", "with": {"value": 1}}],
            }

            created = await http.post(
                "/api/v1/workflows", json=document, headers={"X-Request-ID": "create-1"}
            )
            assert created.status_code == 201, created.text
            line = await logged(api, "create-1")
            assert line["level"] == "info"
            assert (line["method"], line["route"], line["status"]) == (
                "POST",
                "/api/v1/workflows",
                201,
            )
            assert line["project"] == project and line["run_id"] is None
            assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0

            triggered = await http.post(f"/v1/jobs/{job}/trigger", json={})
            assert triggered.status_code == 201, triggered.text
            run_id = triggered.json()["id"]
            line = await logged(api, triggered.headers["X-Request-ID"])
            assert line["route"] == "/v1/jobs/{job_id}/trigger" and line["run_id"] == run_id

            read = await http.get(f"/v1/runs/{run_id}")
            line = await logged(api, read.headers["X-Request-ID"])
            assert (line["route"], line["status"], line["run_id"]) == (
                "/v1/runs/{run_id}",
                200,
                run_id,
            )

            refused = await http.get("/v1/runs", headers={"X-API-Key": "fm_wrong"})
            assert refused.status_code == 401
            request_id = refused.headers["X-Request-ID"]
            assert refused.json()["request_id"] == request_id
            line = await logged(api, request_id)
            assert (line["status"], line["project"]) == (401, None)

            missing = await http.get(f"/v1/nowhere/{run_id}")
            line = await logged(api, missing.headers["X-Request-ID"])
            assert (line["route"], line["status"]) == ("unmatched", 404)

            for probe in ("/healthz", "/readyz", "/metrics"):
                answered = await http.get(probe, headers={"X-API-Key": ""})
                assert answered.status_code == 200, probe  # no key needed
                quiet = answered.headers["X-Request-ID"]
                assert not [line for line in request_lines(api.log) if line["request_id"] == quiet]
    finally:
        api.kill()
    # No other line for any request: uvicorn's access log is off, each request logs once.
    assert len(request_lines(api.log)) == 5


async def test_probes_logged_when_asked_and_metrics_on_a_port_of_their_own(
    base_settings: Settings, tmp_path: Path
) -> None:
    api = ApiProcess(base_settings, tmp_path)
    metrics_port = free_port()
    api.env.update(
        FERRYMAN_LOG_FORMAT="json",
        FERRYMAN_LOG_PROBE_REQUESTS="true",
        FERRYMAN_METRICS_PORT=str(metrics_port),
    )
    await api.start()
    try:
        async with httpx.AsyncClient(base_url=api.url, timeout=20) as http:
            health = await http.get("/healthz")
            line = await logged(api, health.headers["X-Request-ID"])
            assert (line["route"], line["status"]) == ("/healthz", 200)
            assert (await http.get("/metrics")).status_code == 404  # not on the API's port
        scraped = await scrape(f"http://127.0.0.1:{metrics_port}/metrics")
        assert scraped.value("ferryman_http_requests_total", route="/healthz") >= 1
        assert scraped.value("ferryman_http_requests_total", route="unmatched") == 1
    finally:
        api.kill()
