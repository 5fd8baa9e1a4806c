"""Actions on many runs at once: each run answered on its own, a bounded number at a time.

A bulk call never reaches another project's runs (each id is looked up in the caller's
project, as one call would) and never stops at the first failure: every run gets its own
result. At most `MAX_RUNS` runs per call; `CONCURRENCY` of them in flight at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from ferryman.api.codes import ErrorCode
from ferryman.api.errors import ApiError

MAX_RUNS = 100  # ids per bulk call (the filter form stops at MAX_MATCHED)
MAX_MATCHED = 1000  # runs a filtered bulk call acts on at most
CONCURRENCY = 10


@dataclass(frozen=True)
class Outcome:
    run_id: str
    status: str  # the run's status after the action, or "error"
    error: str | None = None


async def each(
    run_ids: Sequence[str], act: Callable[[str], Awaitable[str]], most: int = MAX_RUNS
) -> list[Outcome]:
    """`act` on every id (it returns the run's new status); errors become outcomes."""
    if len(run_ids) > most:
        raise ApiError(
            f"a bulk call takes at most {most} runs (got {len(run_ids)})",
            ErrorCode.VALIDATION_ERROR,
        )
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(run_id: str) -> Outcome:
        async with gate:
            try:
                return Outcome(run_id, await act(run_id))
            except ApiError as err:
                return Outcome(run_id, "error", err.message)

    return list(await asyncio.gather(*(one(run_id) for run_id in dict.fromkeys(run_ids))))
