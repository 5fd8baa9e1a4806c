"""The bench's sides run the workload they claim, on the bench's own process tree: a run of
each side makes its three GETs of the bench's HTTP service and completes, and a run that
fails is reported as failed, not as done. Nothing here is timed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bench import dbos_env
from bench.rig import Rig, rig
from bench.sides import THREE_GETS, RunFailed, sides
from bench.workloads import http_definition

DBOS_READY = dbos_env.installed_version() == dbos_env.pinned_version()
DBOS = pytest.param(
    "dbos",
    marks=pytest.mark.skipif(
        not DBOS_READY, reason="bench/.venv-dbos is not set up (bash bench/dbos_setup.sh)"
    ),
)


@pytest.fixture(scope="module")
async def bench_rig() -> AsyncIterator[Rig]:
    names = {"ferryman", "raw", "facade"} | ({"dbos"} if DBOS_READY else set())
    async with rig(names, say=lambda _: None) as r:
        answer = await r.http.post(
            "/api/v1/workflows", json=http_definition(THREE_GETS), headers=r.headers
        )
        answer.raise_for_status()
        yield r


async def served(r: Rig) -> int:
    """How many requests the HTTP service has answered, this one included."""
    async with httpx.AsyncClient() as http:
        return int((await http.get(r.target_url)).json()["served"])


@pytest.mark.parametrize("name", ["ferryman", "raw", "facade", DBOS])
async def test_a_run_gets_the_service_three_times_and_completes(bench_rig: Rig, name: str) -> None:
    side = sides(bench_rig, [name], poll_secs=0.05)[name]
    before = await served(bench_rig)
    await side.finish(await side.start())
    assert await served(bench_rig) - before == 4  # the run's three GETs, and this probe


@pytest.mark.parametrize("name", ["ferryman", DBOS])
async def test_a_run_whose_step_fails_is_reported_failed(bench_rig: Rig, name: str) -> None:
    """A 404 fails ferryman's `http` step and DBOS's step at once (neither retries it; the
    raw activity and so the facade retry forever, as temporalio's default policy does)."""
    missing = f"{bench_rig.target}/missing"
    side = sides(bench_rig, [name], poll_secs=0.05, url=missing)[name]
    run_id = await side.start()
    with pytest.raises(RunFailed, match=f"a {name} run .* ended"):
        await side.finish(run_id)
