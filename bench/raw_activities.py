"""The raw side's activities, in plain temporalio and httpx: what a team writes by hand.

Apart from the workflows (`bench.raw_workloads`), which import them through the sandbox's
passthrough, as Temporal's samples do: the sandbox re-imports a workflow's module on every
run, and httpx has no business being imported there.
"""

from __future__ import annotations

from typing import Any

import httpx
from temporalio import activity

_client: httpx.AsyncClient | None = None


def _http() -> httpx.AsyncClient:
    """One connection pool per worker process, as any service keeps one."""
    global _client
    if _client is None:
        _client = httpx.AsyncClient()
    return _client


@activity.defn(name="bench.raw_noop")
async def raw_noop(value: int) -> int:
    return value + 1


@activity.defn(name="bench.raw_get")
async def raw_get(url: str) -> Any:
    """GET `url`; its JSON body."""
    response = await _http().get(url)
    response.raise_for_status()
    return response.json()
