"""`python -m bench [--quick] [--json]`: ferryman vs raw temporalio, in one process tree.

One dev server; ferryman's worker and API as separate processes, as `ferryman up` runs
them; the raw side's worker in a process of its own (default worker settings on both
sides). Each scenario runs both sides interleaved and prints both figures and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.rig import Rig, rig
from bench.workloads import sequential_definition, waiting_definition
from ferryman.readiness import wait_until

console = Console(stderr=True)
WAIT_SECS = 600.0  # for executions to be listed or open: far beyond any healthy run


async def bounded(count: int, concurrency: int, job: Callable[[int], Awaitable[Any]]) -> list[Any]:
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> Any:
        async with gate:
            return await job(n)

    return list(await asyncio.gather(*(one(n) for n in range(count))))


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


# ---- scenarios ------------------------------------------------------------------------


async def throughput(r: Rig, n: int, rounds: int) -> dict[str, Any]:
    """Rounds of n executions of a 3-step workflow, create to completion, 20 creates at a
    time; the sides alternate which goes first, so neither always meets a busier server."""
    seconds = {"ferryman": 0.0, "raw": 0.0}
    start: dict[str, Callable[[int], Awaitable[str]]] = {
        "ferryman": lambda _: r.create("three"),
        "raw": lambda _: r.raw(3),
    }
    for round_ in range(rounds):
        for side in sorted(start, reverse=round_ % 2 == 1):
            began = time.perf_counter()
            ids = await bounded(n, 20, start[side])
            await asyncio.gather(*(r.finish(execution_id) for execution_id in ids))
            seconds[side] += time.perf_counter() - began
    ferryman, raw = (n * rounds / seconds[side] for side in ("ferryman", "raw"))
    return {
        "executions_per_side": n * rounds,
        "ferryman_per_s": round(ferryman, 1),
        "raw_per_s": round(raw, 1),
        "ratio": round(ferryman / raw, 3),
    }


async def create_latency(r: Rig, n: int) -> dict[str, Any]:
    """POST /api/v1/executions vs client.start_workflow, one at a time, interleaved."""
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(n):
        ours.append(await timed(lambda: r.create("three")))
        theirs.append(await timed(lambda: r.raw(3)))
    p50, raw_p50 = percentile(ours, 0.5), percentile(theirs, 0.5)
    return {
        "ferryman_p50_ms": p50,
        "ferryman_p99_ms": percentile(ours, 0.99),
        "raw_p50_ms": raw_p50,
        "raw_p99_ms": percentile(theirs, 0.99),
        "ratio": round(p50 / raw_p50, 3),
    }


async def step_overhead(r: Rig, runs: int) -> dict[str, Any]:
    """A 20-step sequential workflow: wall time per step, p50 over runs."""
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(runs):
        ours.append(await timed(lambda: _create_and_finish(r, "twenty")) / 20)
        theirs.append(await timed(lambda: _raw_and_finish(r, 20)) / 20)
    p50, raw_p50 = percentile(ours, 0.5), percentile(theirs, 0.5)
    return {"ferryman_step_ms": p50, "raw_step_ms": raw_p50, "ratio": round(p50 / raw_p50, 3)}


async def _create_and_finish(r: Rig, workflow_id: str) -> None:
    await r.finish(await r.create(workflow_id))


async def _raw_and_finish(r: Rig, steps: int) -> None:
    await r.finish(await r.raw(steps))


async def reads(r: Rig, n: int, stored: int) -> dict[str, Any]:
    """GET one execution; a filtered page of 100 with `stored` executions in the project;
    how long until a new one is listed."""
    ids = await _run_many(r, "three", n)
    await _fill(r, stored)
    get = [
        await timed(partial(r.http.get, f"/api/v1/executions/{i}", headers=r.headers)) for i in ids
    ]
    page = [
        await timed(
            lambda: r.http.get(
                "/api/v1/executions",
                params={"workflow_id": "three", "status": "completed", "page_size": 100},
                headers=r.headers,
            )
        )
        for _ in range(10)
    ]
    total = (
        await r.http.get("/api/v1/executions", params={"page_size": 1}, headers=r.headers)
    ).json()["total"]
    created, paused = await visibility_lags(r, 10 if n < 100 else 40)
    return {
        "get_p50_ms": percentile(get, 0.5),
        "get_p99_ms": percentile(get, 0.99),
        "list_100_p50_ms": percentile(page, 0.5),
        "executions_stored": total,
        "visibility_lag_p50_ms": percentile(created, 0.5),
        "visibility_lag_p99_ms": percentile(created, 0.99),
        "control_lag_p50_ms": percentile(paused, 0.5),
        "control_lag_p99_ms": percentile(paused, 0.99),
    }


async def visibility_lags(r: Rig, samples: int) -> tuple[list[float], list[float]]:
    """How long lists lag: from a create's answer until the run is listed, and from a
    pause's answer until a `status=paused` filter lists it (reads of one run never lag)."""
    created: list[float] = []
    paused: list[float] = []
    for _ in range(samples):
        fresh = await r.create("waits")
        created.append(await _until_listed(r, fresh, {"workflow_id": "waits"}))
        answered = await r.http.post(f"/api/v1/executions/{fresh}/pause", headers=r.headers)
        answered.raise_for_status()
        paused.append(await _until_listed(r, fresh, {"workflow_id": "waits", "status": "paused"}))
        await r.http.post(f"/api/v1/executions/{fresh}/stop", headers=r.headers)
    return created, paused


async def _until_listed(r: Rig, execution_id: str, filters: dict[str, str]) -> float:
    started = time.perf_counter()

    async def listed() -> bool:
        page = await r.http.get(
            "/api/v1/executions", params={**filters, "limit": 100}, headers=r.headers
        )
        return execution_id in [row["id"] for row in page.json()["items"]]

    await wait_until(listed, timeout=WAIT_SECS, interval=0.002, what="a run's row")
    return (time.perf_counter() - started) * 1000


async def _fill(r: Rig, stored: int) -> None:
    """Top the project up to `stored` executions (one-step ones: the cheapest to run)."""
    listed = await r.http.get("/api/v1/executions", params={"page_size": 1}, headers=r.headers)
    missing = max(0, stored - int(listed.json()["total"]))
    if missing:
        console.print(f"  storing {missing} more executions...")
        await _run_many(r, "one", missing)


async def _run_many(r: Rig, workflow_id: str, n: int) -> list[str]:
    """Create n executions, 20 at a time, and wait until all have completed."""
    ids = await bounded(n, 20, lambda _: r.create(workflow_id))
    await bounded(n, 50, lambda i: r.finish(ids[i]))
    return ids


async def sustained(r: Rig, rate: int, seconds: int) -> dict[str, Any]:
    """Creates at a fixed rate; what completed, what is left, create p99, memory."""
    latencies: list[float] = []
    ids: list[str] = []

    async def one() -> None:
        started = time.perf_counter()
        ids.append(await r.create("three"))
        latencies.append((time.perf_counter() - started) * 1000)

    pending = []
    began = time.perf_counter()
    for n in range(rate * seconds):
        await asyncio.sleep(max(0.0, began + n / rate - time.perf_counter()))
        pending.append(asyncio.create_task(one()))
    await asyncio.gather(*pending)
    done = await r.http.get(
        "/api/v1/executions",
        params={"workflow_id": "three", "status": "completed", "limit": 1},
        headers=r.headers,
    )
    completed_all = done.json()["total"]
    results = await asyncio.gather(*(r.finish(i) for i in ids), return_exceptions=True)
    return {
        "rate_per_s": rate,
        "seconds": seconds,
        "created": len(ids),
        "failed": sum(isinstance(x, BaseException) for x in results),
        "completed_total_at_end": completed_all,
        "create_p99_ms": percentile(latencies, 0.99),
        "worker_rss_mb": r.rss_mb("worker"),
        "api_rss_mb": r.rss_mb("api"),
    }


async def footprint(r: Rig, n: int) -> dict[str, Any]:
    """Memory with n executions open (waiting for a signal)."""
    before = r.rss_mb("worker")
    ids = await bounded(n, 20, lambda _: r.create("waits"))

    async def all_waiting() -> bool:
        listed = await r.http.get(
            "/api/v1/executions",
            params={"workflow_id": "waits", "status": "waiting", "limit": 1},
            headers=r.headers,
        )
        return int(listed.json()["total"]) >= n

    await wait_until(all_waiting, timeout=WAIT_SECS, interval=0.2, what=f"{n} waiting executions")
    after = r.rss_mb("worker")
    await bounded(
        n, 20, lambda i: r.http.post(f"/api/v1/executions/{ids[i]}/stop", headers=r.headers)
    )
    # Every stop processed before the next scenario, which would otherwise pay for them.
    await bounded(n, 50, lambda i: r.closed(ids[i]))
    return {"open_executions": n, "worker_rss_before_mb": before, "worker_rss_open_mb": after}


async def first_activation(r: Rig) -> dict[str, Any]:
    """The first execution of a fresh worker pays the sandbox's imports; later ones do not."""
    cold = await timed(lambda: _create_and_finish(r, "one"))
    warm = [await timed(lambda: _create_and_finish(r, "one")) for _ in range(5)]
    return {"first_execution_ms": round(cold, 1), "warm_execution_p50_ms": percentile(warm, 0.5)}


async def main(quick: bool) -> dict[str, Any]:
    async with rig() as r:
        for _, document in (
            ("one", sequential_definition("one", 1)),
            ("three", sequential_definition("three", 3)),
            ("twenty", sequential_definition("twenty", 20)),
            ("waits", waiting_definition("waits")),
        ):
            response = await r.http.post("/api/v1/workflows", json=document, headers=r.headers)
            response.raise_for_status()
        results: dict[str, Any] = {}
        steps: list[tuple[str, Awaitable[dict[str, Any]]]] = [
            ("footprint", _footprint(r, 100 if quick else 1000)),
            ("throughput", throughput(r, 20 if quick else 60, 3 if quick else 5)),
            ("create_latency", create_latency(r, 50 if quick else 200)),
            ("step_overhead", step_overhead(r, 3 if quick else 10)),
            ("reads", reads(r, 30 if quick else 200, 300 if quick else 10_000)),
            ("sustained", sustained(r, 10 if quick else 20, 5 if quick else 60)),
        ]
        for name, scenario in steps:
            console.print(f"• {name}...")
            results[name] = await scenario
        return results


async def _footprint(r: Rig, n: int) -> dict[str, Any]:
    first = await first_activation(r)
    return {**first, **await footprint(r, n)}


def table(results: dict[str, Any]) -> Table:
    out = Table(title="ferryman vs raw temporalio (same dev server, same process tree)")
    out.add_column("scenario")
    out.add_column("figures")
    out.add_column("ratio", justify="right")
    for name, figures in results.items():
        shown = ", ".join(f"{k}={v}" for k, v in figures.items() if k != "ratio")
        out.add_row(name, shown, str(figures.get("ratio", "")))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts: about a minute")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    figures = asyncio.run(main(args.quick))
    if args.json:
        sys.stdout.write(json.dumps(figures, indent=2) + "\n")
    else:
        Console().print(table(figures))
