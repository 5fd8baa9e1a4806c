"""Actions on many runs at once, a bounded number at a time.

A bulk call never reaches another project's runs (each id is looked up in the caller's
project, as one call would). Cancels answer each run on its own and never stop at the first
failure. A bulk replay is all or nothing: every id is checked first, and one that cannot be
replayed refuses the whole call. At most `MAX_RUNS` runs per call; `CONCURRENCY` of them in
flight at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ferryman.api.codes import ErrorCode
from ferryman.api.errors import ApiError
from ferryman.api.executions.control import ExecutionControl
from ferryman.api.executions.launch import Launched
from ferryman.api.executions.restore import Restorer, check_replayable
from ferryman.api.store.errors import StoreError
from ferryman.statuses import Status

MAX_RUNS = 100  # ids per bulk call (the filter form stops at MAX_MATCHED)
MAX_MATCHED = 1000  # runs a filtered bulk call acts on at most
CONCURRENCY = 10

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome:
    run_id: str
    status: str  # the run's status after the action, or "error"
    error: str | None = None


async def _bounded(
    run_ids: Sequence[str], act: Callable[[str], Awaitable[T]], most: int
) -> list[T]:
    """`act` on every distinct id, in order, at most `CONCURRENCY` at a time."""
    if len(run_ids) > most:
        raise ApiError(
            f"a bulk call takes at most {most} runs (got {len(run_ids)})",
            ErrorCode.VALIDATION_ERROR,
        )
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(run_id: str) -> T:
        async with gate:
            return await act(run_id)

    return list(await asyncio.gather(*(one(run_id) for run_id in dict.fromkeys(run_ids))))


async def each(
    run_ids: Sequence[str], act: Callable[[str], Awaitable[str]], most: int = MAX_RUNS
) -> list[Outcome]:
    """`act` on every id (it returns the run's new status); errors become outcomes."""

    async def one(run_id: str) -> Outcome:
        try:
            return Outcome(run_id, await act(run_id))
        except ApiError as err:
            return Outcome(run_id, "error", err.message)

    return await _bounded(run_ids, one, most)


async def cancel(
    control: ExecutionControl, project_id: str, run_ids: Sequence[str], most: int = MAX_RUNS
) -> list[Outcome]:
    """Cancel each run (steps in flight are cancelled); each answers on its own."""

    async def stop(run_id: str) -> str:
        return (await control.stop(project_id, run_id, force=False)).status.value

    return await each(run_ids, stop, most)


async def redrive(
    restorer: Restorer, project_id: str, run_ids: Sequence[str], most: int = MAX_MATCHED
) -> list[Outcome]:
    """Redrive each dead-lettered run from its last checkpoint, under its own id."""

    async def again(run_id: str) -> str:
        await restorer.redrive(project_id, run_id)
        return Status.QUEUED.value

    return await each(run_ids, again, most)


async def replay(
    restorer: Restorer, project_id: str, run_ids: Sequence[str], created_by: str | None
) -> list[Launched]:
    """Each run again from the start as a new run, in the order of the ids (each id once),
    or none at all: an unknown or foreign id, an open run or a disabled job's run refuses
    the whole call (422 `runs_not_replayable`, `details` saying why for each)."""

    async def refusal(run_id: str) -> dict[str, str] | None:
        try:
            await check_replayable(restorer, project_id, run_id)
        except (ApiError, StoreError) as err:
            return {"id": run_id, "error": str(err), "code": err.code.value}
        return None

    refused = [r for r in await _bounded(run_ids, refusal, MAX_RUNS) if r is not None]
    if refused:
        names = ", ".join(r["id"] for r in refused)
        raise ApiError(
            f"no run was replayed: {len(refused)} of the runs cannot be ({names}); "
            "`details` says why for each",
            ErrorCode.RUNS_NOT_REPLAYABLE,
            refused,
        )

    async def start(run_id: str) -> Launched:
        return await restorer.replay(project_id, run_id, None, created_by=created_by)

    return await _bounded(run_ids, start, MAX_RUNS)
