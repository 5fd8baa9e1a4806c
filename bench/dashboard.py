"""`python -m bench.dashboard [--stored N] [--json]`: how long the dashboard's pages take to
load with N runs stored (10,000 by default), on the bench's process tree (a dev server on a
SQLite file, ferryman's worker and API as separate processes).

A page load here is what the browser waits for before it draws: the HTML of the page,
signed in (its scripts and styles are static files, cached after the first load); the
overview's panels load after it, each on its own, and are timed each. Each page is loaded
`LOADS` times; the figures are the median and the slowest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bench.rig import Rig, rig
from bench.scenarios import bounded, percentile, timed
from bench.workloads import sequential_definition

console = Console(stderr=True)
LOADS = 10


async def fill(r: Rig, stored: int) -> str:
    """`stored` one-step runs, each with a payload of its own (`{"n": i}`), all finished;
    the id of one of them."""
    console.print(f"  storing {stored} runs...")

    async def create(i: int) -> str:
        for _ in range(3):  # a busy machine may answer a create late: another run is as good
            try:
                return await r.create("one", n=i, tenant=f"t{i % 50}")
            except httpx.TimeoutException:
                continue
        return await r.create("one", n=i, tenant=f"t{i % 50}")

    ids = await bounded(stored, 20, create)
    await bounded(stored, 50, lambda i: r.finish(ids[i]))
    return str(ids[len(ids) // 2])


async def pages(r: Rig, stored: int) -> dict[str, dict[str, float]]:
    await r.http.post("/api/v1/workflows", json=sequential_definition("one", 1), headers=r.headers)
    run_id = await fill(r, stored)
    signed = await r.http.post("/ui/login", data={"key": r.headers["X-API-Key"]})
    assert signed.status_code == 303, signed.text
    cookies = signed.cookies
    first = await r.http.get("/ui/runs", cookies=cookies)
    cursor = re.search(r'cursor=([^"&]+)" rel="next"', first.text)
    assert cursor, "no next page: fewer runs stored than one page?"
    urls = {
        "overview": "/ui/",
        "overview: runs per status panel": "/ui/overview/statuses",
        "overview: jobs panel": "/ui/overview/jobs",
        "overview: queues panel": "/ui/overview/queues",
        "runs, first page of 50": "/ui/runs",
        "runs, next page (cursor)": f"/ui/runs?cursor={cursor.group(1)}",
        "runs, status=completed": "/ui/runs?status=completed",
        "runs, payload contains": '/ui/runs?payload={"tenant": "t7"}',
        "runs, last hour": "/ui/runs?since=1h",
        "a run": f"/ui/runs/{run_id}",
        "jobs": "/ui/jobs",
        "jobs: a row's run counts": "/ui/jobs/one/counts",
        "job": "/ui/jobs/one",
        "dead letters": "/ui/dead-letters",
        "schedules": "/ui/schedules",
    }
    figures: dict[str, dict[str, float]] = {}
    for name, url in urls.items():

        async def load(url: str = url) -> None:
            response = await r.http.get(url, cookies=cookies, timeout=120)
            assert response.status_code == 200, (url, response.text[:300])

        await load()  # warm: the first load of a page also fills caches
        times = [await timed(load) for _ in range(LOADS)]
        figures[name] = {"p50_ms": percentile(times, 0.5), "max_ms": round(max(times), 2)}
    return figures


async def main(stored: int) -> dict[str, Any]:
    async with rig({"ferryman", "raw"}, console.print) as r:
        return {"runs_stored": stored, "pages": await pages(r, stored)}


def table(results: dict[str, Any]) -> Table:
    out = Table(title=f"dashboard page loads, {results['runs_stored']:,} runs stored")
    out.add_column("page")
    out.add_column("p50 ms", justify="right")
    out.add_column("max ms", justify="right")
    for name, figures in results["pages"].items():
        out.add_row(name, f"{figures['p50_ms']:.0f}", f"{figures['max_ms']:.0f}")
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__)
    parser.add_argument("--stored", type=int, default=10_000, help="runs to store first")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    results = asyncio.run(main(args.stored))
    if args.json:
        sys.stdout.write(json.dumps(results, indent=2) + "\n")
    else:
        Console().print(table(results))
