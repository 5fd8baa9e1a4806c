"""The bench's scenarios: each takes the rig, runs its sides interleaved and answers its
figures (ratios are ferryman's figure over the other side's)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Any

from rich.console import Console

from bench.rig import Rig
from bench.sides import Side
from ferryman.readiness import wait_until

console = Console(stderr=True)
WAIT_SECS = 600.0  # for executions to be listed or open: far beyond any healthy run
IN_FLIGHT = 20  # runs each side has going at once in the throughput scenario


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


def ratios(figures: dict[str, float], of: str = "ferryman") -> dict[str, float]:
    """`vs_<side>`: `of`'s figure over each other side's."""
    return {
        f"vs_{side}": round(figures[of] / value, 3)
        for side, value in figures.items()
        if side != of and value
    }


# ---- the four sides: throughput, create latency -----------------------------------------


async def _run(side: Side, _: int = 0) -> None:
    await side.finish(await side.start())


async def throughput(r: Rig, sides: dict[str, Side], n: int, rounds: int) -> dict[str, Any]:
    """Rounds of n runs of three sequential GETs per side, create to completed, IN_FLIGHT at
    a time; the sides take turns, the order rotating round by round so that none always
    follows the same one. CPU is read per process around each turn."""
    for side in sides.values():  # warm-up, untimed: imports, first connections, caches
        await bounded(IN_FLIGHT // 2, IN_FLIGHT // 2, partial(_run, side))
        side.polls = 0
    seconds = dict.fromkeys(sides, 0.0)
    per_round: dict[str, list[float]] = {name: [] for name in sides}
    cpu: dict[str, dict[str, float]] = {name: {} for name in sides}
    names = list(sides)
    for round_ in range(rounds):
        turn = round_ % len(names)
        for name in names[turn:] + names[:turn]:
            before, began = r.meter.sample(), time.perf_counter()
            await bounded(n, IN_FLIGHT, partial(_run, sides[name]))
            took = time.perf_counter() - began
            seconds[name] += took
            per_round[name].append(round(n / took, 1))
            for role, spent in r.meter.since(before).items():
                cpu[name][role] = cpu[name].get(role, 0.0) + spent
    executions = n * rounds
    per_s = {name: executions / seconds[name] for name in sides}
    return {
        "executions_per_side": executions,
        **{f"{name}_per_s": round(value, 1) for name, value in per_s.items()},
        **ratios(per_s),
        "per_round_per_s": per_round,
        "polls_per_execution": {
            name: round(side.polls / executions, 1) for name, side in sides.items() if side.polls
        },
        "cpu_ms_per_execution": {
            name: {role: round(s * 1000 / executions, 2) for role, s in spent.items()}
            for name, spent in cpu.items()
        },
        "own_roles": {name: list(side.roles) for name, side in sides.items()},
    }


async def create_latency(sides: dict[str, Side], n: int) -> dict[str, Any]:
    """One create at a time, the sides in turn: ferryman's `POST /api/v1/executions`, the
    facade's and DBOS's `POST /runs`, raw `start_workflow`. The runs are left to finish
    (untimed) before the next scenario."""
    latencies: dict[str, list[float]] = {name: [] for name in sides}
    started: list[tuple[Side, str]] = []
    for _ in range(n):
        for name, side in sides.items():
            began = time.perf_counter()
            started.append((side, await side.start()))
            latencies[name].append((time.perf_counter() - began) * 1000)
    await bounded(len(started), 50, lambda i: started[i][0].finish(started[i][1]))
    p50 = {name: percentile(values, 0.5) for name, values in latencies.items()}
    figures: dict[str, Any] = {}
    for name, values in latencies.items():
        figures[f"{name}_p50_ms"] = p50[name]
        figures[f"{name}_p99_ms"] = percentile(values, 0.99)
    return {**figures, **ratios(p50)}


# ---- ferryman and raw: the per-step cost ------------------------------------------------


async def step_overhead(r: Rig, runs: int) -> dict[str, Any]:
    """A 20-step sequential workflow of no-op activities: wall time per step, p50 over runs."""
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(runs):
        ours.append(await timed(lambda: _create_and_finish(r, "twenty")) / 20)
        theirs.append(await timed(lambda: _raw_and_finish(r, 20)) / 20)
    p50, raw_p50 = percentile(ours, 0.5), percentile(theirs, 0.5)
    return {"ferryman_step_ms": p50, "raw_step_ms": raw_p50, "vs_raw": round(p50 / raw_p50, 3)}


async def _create_and_finish(r: Rig, workflow_id: str) -> None:
    await r.finish(await r.create(workflow_id))


async def _raw_and_finish(r: Rig, steps: int) -> None:
    await r.raw_finish(await r.raw(steps))


# ---- ferryman alone ---------------------------------------------------------------------


async def concurrency_gate(r: Rig, n: int) -> dict[str, Any]:
    """n runs of a one-step job behind one concurrency key of 5 slots, created IN_FLIGHT at
    a time: how many runs/s the key's gate admits (from the first run's `started_at` to the
    last's), and create to all completed beside the same job without a key. Then the same
    behind a key of IN_FLIGHT slots (`wide`): every run still enters and leaves the gate,
    none ever queues, so its figure beside no key is what the gate itself costs."""
    figures: dict[str, Any] = {}
    for workflow_id in ("gated", "wide", "ungated"):
        began = time.perf_counter()
        ids = await _run_many(r, workflow_id, n)
        figures[f"{workflow_id}_per_s"] = round(n / (time.perf_counter() - began), 1)
        if workflow_id != "ungated":
            figures[f"{workflow_id}_admitted_per_s"] = await _admitted_per_s(r, ids)
    figures["vs_ungated"] = round(figures["gated_per_s"] / figures["ungated_per_s"], 3)
    figures["wide_vs_ungated"] = round(figures["wide_per_s"] / figures["ungated_per_s"], 3)
    return figures


async def _admitted_per_s(r: Rig, ids: list[str]) -> float:
    """Runs admitted per second between the first admission and the last (`started_at` is
    set when a run leaves the queue)."""

    async def started(execution_id: str) -> datetime:
        response = await r.http.get(f"/api/v1/executions/{execution_id}", headers=r.headers)
        response.raise_for_status()
        return datetime.fromisoformat(response.json()["started_at"])

    stamps = await bounded(len(ids), 20, lambda i: started(ids[i]))
    span = (max(stamps) - min(stamps)).total_seconds()
    return round((len(ids) - 1) / span, 1) if span > 0 else float("inf")


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
        # Stored is listed: let visibility take in every close before reads are timed.
        settled = "FerrymanWorkflow = 'one' AND ExecutionStatus = 'Running'"

        async def all_listed_closed() -> bool:
            return (await r.client.count_workflows(settled)).count == 0

        await wait_until(all_listed_closed, timeout=WAIT_SECS, interval=0.5, what="visibility")


async def _run_many(r: Rig, workflow_id: str, n: int) -> list[str]:
    """Create n executions, IN_FLIGHT at a time, and wait until all have completed."""
    ids = await bounded(n, IN_FLIGHT, lambda _: r.create(workflow_id))
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
        "worker_rss_mb": r.rss_mb("ferryman worker"),
        "api_rss_mb": r.rss_mb("ferryman api"),
    }


async def footprint(r: Rig, n: int) -> dict[str, Any]:
    """The first execution of a fresh worker (it pays the sandbox's imports) against warm
    ones; then memory with n executions open (waiting for a signal)."""
    cold = await timed(lambda: _create_and_finish(r, "one"))
    warm = [await timed(lambda: _create_and_finish(r, "one")) for _ in range(5)]
    before = r.rss_mb("ferryman worker")
    ids = await bounded(n, 20, lambda _: r.create("waits"))

    async def all_waiting() -> bool:
        listed = await r.http.get(
            "/api/v1/executions",
            params={"workflow_id": "waits", "status": "waiting", "limit": 1},
            headers=r.headers,
        )
        return int(listed.json()["total"]) >= n

    await wait_until(all_waiting, timeout=WAIT_SECS, interval=0.2, what=f"{n} waiting executions")
    after = r.rss_mb("ferryman worker")
    await bounded(
        n, 20, lambda i: r.http.post(f"/api/v1/executions/{ids[i]}/stop", headers=r.headers)
    )
    # Every stop processed before the next scenario, which would otherwise pay for them.
    await bounded(n, 50, lambda i: r.closed(ids[i]))
    return {
        "first_execution_ms": round(cold, 1),
        "warm_execution_p50_ms": percentile(warm, 0.5),
        "open_executions": n,
        "worker_rss_before_mb": before,
        "worker_rss_open_mb": after,
    }
