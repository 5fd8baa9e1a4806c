"""The command line as real processes: `ferryman up`, `keys`, and `worker`/`api` refusing an
unprepared Temporal. Every process a test starts is gone when it ends, even on failure."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest

from ferryman.devserver import DevServer
from ferryman.processes import free_port
from ferryman.settings import Settings
from ferryman.temporal import connect
from tests.support.metrics import scrape
from tests.support.paths import ROOT
from tests.support.polling import eventually
from tests.support.processes import cli_env
from tests.support.up import Up, alive


def ferryman(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ferryman", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def durable_definition(workflow_id: str) -> dict[str, Any]:
    return {
        "id": workflow_id,
        "name": "CLI durability",
        "steps": [
            {"id": "first", "kind": "transform", "with": {"value": "{{ input.n + 1 }}"}},
            {"id": "nap", "kind": "sleep", "depends_on": ["first"], "with": {"seconds": 3}},
            {
                "id": "last",
                "kind": "transform",
                "depends_on": ["nap"],
                "with": {"value": "{{ steps.first.output + 1 }}"},
            },
        ],
        "output": "{{ steps.last.output }}",
    }


async def survive_worker_kill(up: Up, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """SIGKILL the worker mid-sleep: `up` restarts it and the execution completes."""
    workflow_id = f"cli-{uuid.uuid4().hex[:8]}"
    created = await http.post(
        "/api/v1/workflows", json=durable_definition(workflow_id), headers=headers
    )
    assert created.status_code == 201, created.text
    started = await http.post(
        "/api/v1/executions",
        json={"workflow_id": workflow_id, "input_data": {"n": 1}},
        headers=headers,
    )
    assert started.status_code == 201, started.text
    execution = f"/api/v1/executions/{started.json()['id']}"

    async def status() -> str:
        return str((await http.get(execution, headers=headers)).json()["status"])

    await eventually(status, lambda s: s in ("running", "waiting"))
    old_worker = up.pids()["worker"]
    os.kill(old_worker, signal.SIGKILL)

    async def worker_pid() -> int:
        return up.pids()["worker"]

    await eventually(worker_pid, lambda pid: pid != old_worker, timeout=20)
    await eventually(status, lambda s: s == "completed", timeout=60)
    assert (await http.get(execution, headers=headers)).json()["output"] == 3


async def test_up_serves_stops_cleanly_and_keeps_its_state(up: Up) -> None:
    up.start()
    await up.wait_ready()
    pids = up.pids()
    assert {pids["temporal"], pids["worker"], pids["api"]} <= up.children()
    key_file = up.data_dir / "dev-api-key"
    key = key_file.read_text().strip()
    assert key.startswith("fm_") and key_file.stat().st_mode & 0o777 == 0o600
    url_file = up.data_dir / "api-url"  # written once `up` saw the API ready, as we did

    async def written() -> str:
        return url_file.read_text() if url_file.exists() else ""

    await eventually(written, lambda text: text == f"{up.url}\n")
    async with httpx.AsyncClient(base_url=up.url, timeout=10) as http:
        assert (await http.get("/healthz")).status_code == 200
        good = {"X-API-Key": key}
        assert (await http.get("/api/v1/workflows", headers=good)).status_code == 200
        bad = await http.get("/api/v1/workflows", headers={"X-API-Key": "fm_wrong"})
        assert bad.status_code == 401
        await serves_metrics(up, http)
        await survive_worker_kill(up, http, good)
        # Ctrl-C while this client keeps a connection open: the API closes it, which leaves
        # the API's port in TIME_WAIT for a minute, as after any real session.
        assert (await http.get("/healthz")).status_code == 200
        assert up.stop() == 0
    assert [pid for pid in up.seen if alive(pid)] == []
    log = up.log.read_text()
    assert "ready" in log and "restarting it" in log, log
    assert time_wait(up.port), "the test means to restart over a port in TIME_WAIT"

    # At once, same ports, same data dir: the same key, kept in the data dir and the
    # database, still works.
    up.start()
    await up.wait_ready()
    up.pids()
    async with httpx.AsyncClient(base_url=up.url, timeout=10) as http:
        response = await http.get("/api/v1/workflows", headers={"X-API-Key": key})
        assert response.status_code == 200, response.text
    assert (up.data_dir / "dev-api-key").read_text().strip() == key
    assert up.stop(signal.SIGTERM) == 0
    assert [pid for pid in up.seen if alive(pid)] == []


async def serves_metrics(up: Up, http: httpx.AsyncClient) -> None:
    """The ready panel names both metrics endpoints, and both answer without a key."""
    log = up.log.read_text()
    assert f"{up.url}/metrics" in log and up.worker_metrics_url in log, log
    api = await scrape(f"{up.url}/metrics")
    assert api.value("ferryman_http_requests_total", route="/api/v1/workflows") >= 1
    worker = await scrape(up.worker_metrics_url)
    assert any(name.startswith("temporal_") for name in worker.names()), worker.text


def time_wait(port: int) -> bool:
    """Whether a socket of `port` on this machine is in TIME_WAIT."""
    out = subprocess.run(
        ["ss", "-Htan", "state", "time-wait", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return bool(out.strip())


async def test_the_data_dirs_dev_key_is_the_bootstrap_key_when_one_is_given(
    tmp_path: Path,
) -> None:
    from ferryman.api.store.repository import generate_key
    from ferryman.supervisor import prepare_metadata

    settings = Settings(data_dir=tmp_path, database_url=None, bootstrap_api_key=None)
    made = await prepare_metadata(settings)
    assert (tmp_path / "dev-api-key").read_text().strip() == made
    given = generate_key()
    update = {"bootstrap_api_key": given}
    assert await prepare_metadata(settings.model_copy(update=update)) == given
    key_file = tmp_path / "dev-api-key"
    assert key_file.read_text().strip() == given and key_file.stat().st_mode & 0o777 == 0o600


@asynccontextmanager
async def asgi_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    from ferryman.api.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cli.test") as http:
            yield http


async def test_keys_create_list_and_revoke(base_settings: Settings, tmp_path: Path) -> None:
    env = cli_env(FERRYMAN_DATA_DIR=str(tmp_path))
    project = f"cli-{uuid.uuid4().hex[:6]}"
    created = ferryman(
        "keys", "create", "--project", project, "--scope", "workflows:read", "--name", "ci", env=env
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("fm_")
    match = re.search(r"created key (\S+) in project", created.stdout)
    assert match, created.stdout
    key_id = match.group(1)
    listed = ferryman("keys", "list", "--project", project, env=env)
    assert listed.returncode == 0 and key_id in listed.stdout and key not in listed.stdout

    # The API on the same database accepts the key, then refuses it once revoked (by another
    # process: within the API's metadata cache time).
    settings = base_settings.model_copy(update={"data_dir": tmp_path, "metadata_cache_secs": 0.5})
    async with asgi_client(settings) as http:
        headers = {"X-API-Key": key}
        assert (await http.get("/api/v1/workflows", headers=headers)).status_code == 200
        revoked = ferryman("keys", "revoke", key_id, "--project", project, env=env)
        assert revoked.returncode == 0, revoked.stderr

        async def status() -> int:
            return (await http.get("/api/v1/workflows", headers=headers)).status_code

        await eventually(status, lambda code: code == 401, timeout=10)


def test_keys_create_rejects_an_unknown_scope(tmp_path: Path) -> None:
    result = ferryman(
        "keys",
        "create",
        "--project",
        "p",
        "--scope",
        "nope",
        env=cli_env(FERRYMAN_DATA_DIR=str(tmp_path)),
    )
    assert result.returncode == 2
    assert "unknown scope 'nope'" in result.stderr and "workflows:read" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("role", ["worker", "api"])
async def test_role_refuses_a_namespace_without_search_attributes(
    role: str, dev_server: DevServer, base_settings: Settings, tmp_path: Path
) -> None:
    namespace = f"cli-bare-{uuid.uuid4().hex[:8]}"
    client = await connect(base_settings)
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    env = cli_env(
        TEMPORAL_ADDRESS=dev_server.address,
        TEMPORAL_NAMESPACE=namespace,
        FERRYMAN_DATA_DIR=str(tmp_path),
        FERRYMAN_API_PORT=str(free_port()),
    )
    result = ferryman(role, env=env)
    assert result.returncode == 2, result.stderr
    assert "temporal operator search-attribute create" in result.stderr
    assert "Traceback" not in result.stderr


def test_worker_says_when_temporal_is_unreachable(tmp_path: Path) -> None:
    env = cli_env(TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}", FERRYMAN_DATA_DIR=str(tmp_path))
    result = ferryman("worker", env=env)
    assert result.returncode == 2
    assert "cannot reach Temporal" in result.stderr and "Traceback" not in result.stderr
