"""`python -m bench [--quick] [--json] [--sides ...] [--scenarios ...]`: ferryman against raw
temporalio, a minimal hand-written FastAPI facade over Temporal and DBOS Transact, in one
process tree and one run, so that every figure is a ratio measured side by side.

One Temporal dev server; ferryman's worker and API as separate processes, as `ferryman up`
runs them; the raw side's worker, the facade's app and its worker, and the DBOS app (its own
venv, on a fresh database of the local PostgreSQL) each in a process of their own; a local
HTTP service that every side's steps GET. Progress goes to stderr; the figures to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import scenarios
from bench.rig import Rig, rig
from bench.scenarios import console
from bench.sides import POLL_SECS, SIDES, THREE_GETS, Side, sides
from bench.workloads import (
    gated_definition,
    http_definition,
    sequential_definition,
    waiting_definition,
)

DEFINITIONS = (
    sequential_definition("one", 1),
    sequential_definition("three", 3),
    sequential_definition("twenty", 20),
    http_definition(THREE_GETS),
    gated_definition("gated", 5),
    gated_definition("wide", scenarios.IN_FLIGHT, key="w"),
    gated_definition("ungated", None),
    waiting_definition("waits"),
)
SCENARIOS = (
    "footprint",
    "throughput",
    "create_latency",
    "step_overhead",
    "concurrency",
    "reads",
    "sustained",
)
# (scenario, figure, at least or at most, target, what): the goals the figures are read against
GOALS = (
    ("throughput", "vs_facade", ">=", 1.0, "throughput vs the minimal facade (0.95 passes)"),
    ("throughput", "vs_dbos", ">=", 1.0, "throughput vs DBOS"),
    ("step_overhead", "vs_raw", "<=", 1.05, "step overhead vs raw"),
    ("reads", "get_p50_ms", "<=", 5.0, "GET of one run, p50 ms"),
    ("reads", "list_100_p50_ms", "<=", 60.0, "filtered list page of 100, p50 ms (full: 10,000)"),
    ("footprint", "worker_rss_open_mb", "<=", 250.0, "worker RSS, runs open, MB (full: 1,000)"),
    ("concurrency", "gated_admitted_per_s", ">=", 50.0, "runs/s admitted through a key of 5"),
)


def plan(quick: bool) -> dict[str, Callable[[Rig, dict[str, Side]], Awaitable[dict[str, Any]]]]:
    """Each scenario with its counts: `--quick` about two minutes, the full run about 25."""
    return {
        "footprint": lambda r, _: scenarios.footprint(r, 100 if quick else 1000),
        "throughput": lambda r, s: scenarios.throughput(r, s, 20 if quick else 60, 3),
        "create_latency": lambda _, s: scenarios.create_latency(s, 30 if quick else 200),
        "step_overhead": lambda r, _: scenarios.step_overhead(r, 3 if quick else 10),
        "concurrency": lambda r, _: scenarios.concurrency_gate(r, 40 if quick else 200),
        "reads": lambda r, _: scenarios.reads(r, 30 if quick else 200, 300 if quick else 10_000),
        "sustained": lambda r, _: scenarios.sustained(r, 10 if quick else 20, 5 if quick else 60),
    }


async def main(
    quick: bool, side_names: list[str], chosen: list[str], poll_secs: float
) -> dict[str, Any]:
    began = time.perf_counter()
    async with rig(set(side_names), say=console.print) as r:
        for document in DEFINITIONS:
            response = await r.http.post("/api/v1/workflows", json=document, headers=r.headers)
            response.raise_for_status()
        the_sides = sides(r, side_names, poll_secs)
        results: dict[str, Any] = {"setup": setup(quick, side_names, poll_secs, r)}
        for name, scenario in plan(quick).items():
            if name in chosen:
                console.print(f"• {name}...")
                results[name] = await scenario(r, the_sides)
    results["setup"]["seconds"] = round(time.perf_counter() - began)
    return results


def setup(quick: bool, side_names: list[str], poll_secs: float, r: Rig) -> dict[str, Any]:
    return {
        "quick": quick,
        "sides": side_names,
        "poll_ms": round(poll_secs * 1000),
        "in_flight": scenarios.IN_FLIGHT,
        "python": platform.python_version(),
        "temporalio": version("temporalio"),
        "dbos": r.dbos_version,
    }


# ---- what is printed --------------------------------------------------------------------


def figures_table(results: dict[str, Any]) -> Table:
    shown = results["setup"]
    out = Table(
        title=f"ferryman vs {', '.join(s for s in shown['sides'] if s != 'ferryman')} "
        f"(one run, {shown['seconds']} s; ratios are ferryman / the other side)"
    )
    out.add_column("scenario")
    out.add_column("figures")
    out.add_column("ratios", justify="right")
    for name, figures in results.items():
        if name == "setup":
            continue
        flat = {k: v for k, v in figures.items() if not isinstance(v, dict | list)}
        plain = ", ".join(f"{k}={v}" for k, v in flat.items() if not k.startswith("vs_"))
        ratio = ", ".join(f"{k}={v}" for k, v in flat.items() if k.startswith("vs_"))
        out.add_row(name, plain, ratio)
    return out


def cpu_table(throughput: dict[str, Any]) -> Table:
    """CPU ms per execution, process by process and side by side; a side's own processes
    make its total, the others' (idle meanwhile) are shown in parentheses."""
    cpu: dict[str, dict[str, float]] = throughput["cpu_ms_per_execution"]
    own: dict[str, list[str]] = throughput["own_roles"]
    out = Table(title="throughput: CPU ms per execution, per process (from /proc)")
    out.add_column("process")
    for side in cpu:
        out.add_column(side, justify="right")
    roles = sorted({role for spent in cpu.values() for role in spent})
    for role in roles:
        cells = []
        for side, spent in cpu.items():
            value = f"{spent.get(role, 0.0):.1f}"
            cells.append(value if role in own[side] else f"({value})")
        out.add_row(role, *cells)
    totals = [sum(v for k, v in spent.items() if k in own[side]) for side, spent in cpu.items()]
    out.add_row("[b]total (own processes)[/b]", *(f"[b]{t:.1f}[/b]" for t in totals))
    polls = throughput["polls_per_execution"]
    out.add_row("reads of the run (polls)", *(str(polls.get(side, "")) for side in cpu))
    return out


def goals_table(results: dict[str, Any]) -> Table:
    out = Table(title="goals")
    for column in ("figure", "value", "target", "met"):
        out.add_column(column)
    for scenario, key, sense, target, what in GOALS:
        value = results.get(scenario, {}).get(key)
        if value is None:
            continue
        met = value >= target if sense == ">=" else value <= target
        out.add_row(what, str(value), f"{sense} {target:g}", "yes" if met else "[b]no[/b]")
    return out


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts: about two minutes")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--sides",
        default=",".join(SIDES),
        help=f"comma-separated sides of throughput and create latency (default {','.join(SIDES)}"
        "; ferryman and raw always run)",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated scenarios to run (default: all, {','.join(SCENARIOS)})",
    )
    parser.add_argument(
        "--poll-ms",
        type=float,
        default=POLL_SECS * 1000,
        help="how often the HTTP sides' client reads a run until it has closed (default "
        f"{POLL_SECS * 1000:g})",
    )
    args = parser.parse_args(argv)
    args.sides = _chosen(args.sides, SIDES, "side", always=("ferryman", "raw"))
    args.scenarios = _chosen(args.scenarios, SCENARIOS, "scenario")
    return args


def _chosen(
    text: str, known: tuple[str, ...], what: str, always: tuple[str, ...] = ()
) -> list[str]:
    asked = {name.strip() for name in text.split(",") if name.strip()}
    unknown = asked - set(known)
    if unknown:
        sys.exit(
            f"python -m bench: no {what} {', '.join(sorted(unknown))} (known: {', '.join(known)})"
        )
    return [name for name in known if name in asked or name in always]


if __name__ == "__main__":
    args = parse(sys.argv[1:])
    console.print(
        "bench: "
        + ("--quick, about four minutes" if args.quick else "full run, about eight minutes")
        + f"; sides {', '.join(args.sides)}; scenarios {', '.join(args.scenarios)}"
    )
    figures = asyncio.run(main(args.quick, args.sides, args.scenarios, args.poll_ms / 1000))
    if args.json:
        sys.stdout.write(json.dumps(figures, indent=2) + "\n")
    else:
        out = Console(width=None if sys.stdout.isatty() else 120)
        out.print(figures_table(figures))
        if "throughput" in figures:
            out.print(cpu_table(figures["throughput"]))
        out.print(goals_table(figures))
