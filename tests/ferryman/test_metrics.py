"""ferryman's metrics, scraped from the real endpoints of an API process and a worker process
(`ferryman api`, `python worker.py`, each its own process) before and after real runs: the
counts move by exactly what the runs did, and no label carries a secret or a run id."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client

from ferryman.processes import free_port
from ferryman.settings import Settings
from tests.support.llm_server import LlmServer, Reply
from tests.support.metrics import Scrape, dashboard_metrics, moved, scrape
from tests.support.pair import Pair, running_pair, secret_call
from tests.support.paths import ROOT
from tests.support.polling import eventually
from tests.support.processes import cli_env

SECRET = f"tok-{uuid.uuid4().hex}"  # the worker's FERRYMAN_SECRET_TOKEN
MODEL = f"observed-{uuid.uuid4().hex[:8]}"  # priced in the worker's FERRYMAN_LLM_PRICES
PRICE = {"prompt_per_million_usd": 3.0, "completion_per_million_usd": 15.0}


@dataclass
class Observed(Pair):
    """The pair, with the worker's metrics endpoint on."""

    worker_metrics: str = ""

    @property
    def api_metrics(self) -> str:
        return f"{self.api.url}/metrics"

    async def scrapes(self) -> tuple[Scrape, Scrape]:
        return await scrape(self.api_metrics), await scrape(self.worker_metrics)


@pytest_asyncio.fixture(scope="module")
async def observed(
    base_settings: Settings,
    temporal_client: Client,
    llm_server: LlmServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Observed]:
    port = free_port()
    async with running_pair(
        base_settings,
        temporal_client,
        tmp_path_factory.mktemp("observed"),
        FERRYMAN_WORKER_METRICS_PORT=str(port),
        FERRYMAN_SECRET_TOKEN=SECRET,
        FERRYMAN_LLM_BASE_URL=llm_server.base_url,
        FERRYMAN_LLM_PRICES=json.dumps({MODEL: PRICE}),
    ) as pair:
        yield Observed(pair.api, pair.http, f"http://127.0.0.1:{port}/metrics")


def three_steps(job: str, http_target: str) -> dict[str, Any]:
    """Three steps that complete: two activity attempts (one an `http` call with a secret
    in its URL) and an in-workflow transform."""
    return {
        "id": job,
        "name": "Three steps",
        "steps": [
            {"id": "echo", "kind": "activity", "activity": "test.echo", "with": {"n": 1}},
            secret_call(http_target, after="echo"),
            {"id": "sum", "kind": "transform", "depends_on": ["call"], "with": {"value": 3}},
        ],
    }


def parked(job: str) -> dict[str, Any]:
    """One step that fails all its 3 attempts retryably: 2 retries, then a dead letter."""
    return {
        "id": job,
        "name": "Parked",
        "steps": [
            {
                "id": "fragile",
                "kind": "activity",
                "activity": "test.flaky",
                "with": {"fail_times": 10},
                "retry": {"max_attempts": 3, "backoff": "fixed", "initial_delay_secs": 0.1},
            }
        ],
    }


async def test_counts_move_by_exactly_what_the_runs_did(
    observed: Observed, http_target: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    done = await observed.job(three_steps(f"three-{tag}", http_target))
    dead = await observed.job(parked(f"parked-{tag}"))
    api_before, worker_before = await observed.scrapes()

    completed = await observed.trigger(done)
    parked_run = await observed.trigger(dead)
    await observed.settled(completed["id"], "completed")
    await observed.settled(parked_run["id"], "dead_letter")

    api_after = await scrape(observed.api_metrics)
    worker_after = await eventually(
        lambda: scrape(observed.worker_metrics),
        lambda s: s.value("ferryman_runs_finished_total", job=dead) == 1,
    )

    def worker(name: str, **labels: str) -> float:
        return moved(worker_before, worker_after, name, **labels)

    # The completed run: 3 steps, 2 of them activity attempts (the transform runs in the
    # workflow), each attempt timed once.
    assert worker("ferryman_runs_finished_total", job=done, status="completed") == 1
    assert worker("ferryman_steps_finished_total", job=done, status="completed") == 3
    assert worker("ferryman_steps_finished_total", job=done, kind="transform") == 1
    assert worker("ferryman_step_attempts_total", job=done, outcome="completed") == 2
    assert worker("ferryman_step_attempts_total", job=done, kind="http") == 1
    assert worker("ferryman_step_attempt_duration_seconds_count", job=done) == 2
    assert worker("ferryman_step_retries_total", job=done) == 0
    # The dead letter: 3 failed attempts, 2 retries between them, 1 run parked.
    assert worker("ferryman_step_attempts_total", job=dead, outcome="failed") == 3
    assert worker("ferryman_step_attempts_total", job=dead, outcome="completed") == 0
    assert worker("ferryman_step_retries_total", job=dead, kind="activity") == 2
    assert worker("ferryman_dead_letters_total", job=dead) == 1
    assert worker("ferryman_runs_finished_total", job=dead, status="dead_letter") == 1
    assert worker("ferryman_steps_finished_total", job=dead, status="failed") == 1
    # The SDK's own metrics, on the same endpoint: one workflow completed, one failed
    # (a dead letter fails its Temporal workflow), both of the job's workflow type.
    assert worker("temporal_workflow_completed_total", workflow_type=done) == 1
    assert worker("temporal_workflow_failed_total", workflow_type=dead) == 1
    assert worker("temporal_activity_execution_latency_count", workflow_type=dead) == 3

    def api(name: str, **labels: str) -> float:
        return moved(api_before, api_after, name, **labels)

    for job in (done, dead):
        assert api("ferryman_runs_started_total", job=job, triggered_by="manual") == 1
    trigger_route = {"route": "/v1/jobs/{job_id}/trigger", "method": "POST"}
    assert api("ferryman_http_requests_total", status="201", **trigger_route) == 2
    assert api("ferryman_http_request_duration_seconds_count", **trigger_route) == 2

    # Bounded labels: job ids, kinds, statuses, templates; never a secret or a run id.
    for scraped in (api_after, worker_after):
        assert SECRET not in scraped.text
        assert not {completed["id"], parked_run["id"]} & scraped.label_values()
        assert not any(completed["id"] in value for value in scraped.label_values())


async def test_control_calls_replays_and_unmatched_routes(observed: Observed) -> None:
    job = await observed.job(
        {
            "id": f"held-{uuid.uuid4().hex[:8]}",
            "name": "Held",
            "steps": [{"id": "hold", "kind": "wait", "with": {"signal": "go"}}],
        }
    )
    before = await scrape(observed.api_metrics)
    key = {"Idempotency-Key": f"obs-{uuid.uuid4().hex}"}
    run = await observed.trigger(job, **key)
    assert (await observed.trigger(job, **key))["id"] == run["id"]  # replayed, not started
    run_id = run["id"]
    await observed.settled(run_id, "waiting", "running")
    http = observed.http
    assert (await http.post(f"/v1/runs/{run_id}/pause")).status_code == 200
    await observed.settled(run_id, "paused")
    assert (await http.post(f"/v1/runs/{run_id}/pause")).status_code == 409  # paused already
    assert (await http.post(f"/v1/runs/{run_id}/resume")).status_code == 200
    assert (await http.delete(f"/v1/runs/{run_id}")).status_code == 200
    await observed.settled(run_id, "canceled")
    assert (await http.post(f"/v1/runs/{run_id}/resume")).status_code == 409  # closed
    signal = await http.post(f"/api/v1/executions/{run_id}/signal", json={"name": "nope"})
    assert signal.status_code == 404  # no wait step of that name: refused
    assert (await http.get(f"/no/such/{run_id}")).status_code == 404
    after = await scrape(observed.api_metrics)

    def api(name: str, **labels: str) -> float:
        return moved(before, after, name, **labels)

    assert api("ferryman_control_calls_total", kind="pause", outcome="ok") == 1
    assert api("ferryman_control_calls_total", kind="pause", outcome="refused") == 1
    assert api("ferryman_control_calls_total", kind="resume", outcome="ok") == 1
    assert api("ferryman_control_calls_total", kind="resume", outcome="refused") == 1
    assert api("ferryman_control_calls_total", kind="cancel", outcome="ok") == 1
    assert api("ferryman_control_calls_total", kind="signal", outcome="refused") == 1
    assert api("ferryman_control_calls_total", outcome="error") == 0
    assert api("ferryman_idempotent_replays_total", scope="trigger") == 1
    assert api("ferryman_runs_started_total", job=job) == 1
    assert api("ferryman_http_requests_total", route="unmatched", status="404") == 1
    assert api("ferryman_http_requests_total", route="/v1/runs/{run_id}/pause") == 2
    assert run_id not in after.label_values()


async def test_llm_tokens_and_cost_by_model(observed: Observed, llm_server: LlmServer) -> None:
    llm_server.script([Reply(content="4", prompt_tokens=20, completion_tokens=3)] * 2, model=MODEL)
    job = await observed.job(
        {
            "id": f"ask-{uuid.uuid4().hex[:8]}",
            "name": "Ask",
            "steps": [
                {
                    "id": "answer",
                    "kind": "llm",
                    "with": {"model": MODEL, "messages": [{"role": "user", "content": "2+2?"}]},
                }
            ],
        }
    )
    before = await scrape(observed.worker_metrics)
    for _ in range(2):
        run = await observed.trigger(job)
        await observed.settled(run["id"], "completed")
    after = await eventually(
        lambda: scrape(observed.worker_metrics),
        lambda s: moved(before, s, "ferryman_runs_finished_total", job=job) == 2,
    )
    assert moved(before, after, "ferryman_llm_tokens_total", model=MODEL, type="prompt") == 40
    assert moved(before, after, "ferryman_llm_tokens_total", model=MODEL, type="completion") == 6
    # 2 x (20 x $3 + 3 x $15) per million tokens = 2 x 105 micro-dollars.
    assert moved(before, after, "ferryman_llm_cost_microusd_total", model=MODEL) == 210
    assert moved(before, after, "ferryman_step_attempts_total", job=job, kind="llm") == 2


async def test_gate_queue_depth_and_slots_per_key(observed: Observed) -> None:
    job = await observed.job(
        {
            "id": f"gated-{uuid.uuid4().hex[:8]}",
            "name": "Gated",
            "concurrency": {"limit": 1},
            "steps": [{"id": "hold", "kind": "wait", "with": {"signal": "go"}}],
        }
    )
    first, second = [(await observed.trigger(job))["id"] for _ in range(2)]
    gauges = {"key": job}

    def slots(scraped: Scrape) -> tuple[float, float, float]:
        return (
            scraped.value("ferryman_gate_queue_depth", **gauges),
            scraped.value("ferryman_gate_slots_in_use", **gauges),
            scraped.value("ferryman_gate_slots_limit", **gauges),
        )

    await eventually(lambda: scrape(observed.worker_metrics), lambda s: slots(s) == (1, 1, 1))
    for run_id in (first, second):
        sent = await observed.http.post(f"/api/v1/executions/{run_id}/signal", json={"name": "go"})
        assert sent.status_code == 200, sent.text
    await observed.settled(second, "completed")
    await eventually(lambda: scrape(observed.worker_metrics), lambda s: slots(s) == (0, 0, 1))


async def test_every_metric_the_dashboard_queries_is_served(observed: Observed) -> None:
    """After the runs above, each name deploy/grafana/ferryman.json plots is in a scrape of
    one of the two endpoints (a dashboard on a renamed metric would go blank)."""
    api, worker = await observed.scrapes()
    queried = dashboard_metrics()
    assert {"ferryman_runs_finished_total", "ferryman_http_requests_total"} <= queried
    assert queried - api.names() - worker.names() == set()


async def test_a_busy_worker_metrics_port_is_one_sentence(
    base_settings: Settings, tmp_path: Path
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(  # noqa: ASYNC221  # a refusal: it ends at once
            [sys.executable, "-m", "ferryman", "worker", "--data-dir", str(tmp_path)],
            cwd=ROOT,
            env=cli_env(
                TEMPORAL_ADDRESS=base_settings.temporal_address,
                FERRYMAN_WORKER_METRICS_PORT=str(port),
            ),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    assert f"127.0.0.1:{port}" in done.stderr and "FERRYMAN_WORKER_METRICS_PORT" in done.stderr
    assert "Traceback" not in done.stderr, done.stderr
