"""Whether a run's dependencies hold, read live from Temporal visibility.

For each dependency, the latest run of the job it depends on (in the run's batch when it has
one) and whether that run's status meets the condition: `completed`; `failed` (any failure
status, a timeout included); `finished` (any closed status, cancellation included). A job
that has no run yet satisfies nothing. A run waiting on its dependencies asks this through
its worker (`ferryman.dependencies.await`); `GET /v1/runs/{id}/dependency-status` asks it
on the spot.
"""

from __future__ import annotations

from dataclasses import dataclass

from ferryman.api.executions import visibility
from ferryman.api.executions.reader import ExecutionReader
from ferryman.api.executions.view import ExecutionView
from ferryman.statuses import FAILURE_STATUSES, TERMINAL_STATUSES, Condition, Status
from ferryman.workflows import models as m

CONDITIONS: dict[str, frozenset[Status]] = {
    Condition.COMPLETED: frozenset({Status.COMPLETED}),
    Condition.FAILED: FAILURE_STATUSES | {Status.TIMED_OUT},
    Condition.FINISHED: TERMINAL_STATUSES,
}
# Rows read to find the latest run: Temporal lists open runs first (newest start first),
# then closed ones by close time, so the newest start is among the first few.
LATEST_SCAN = 20


@dataclass(frozen=True)
class DependencyState:
    dependency: m.Dependency
    latest: ExecutionView | None  # the latest run of `depends_on_job_id`, if any
    satisfied: bool


async def evaluate(
    reader: ExecutionReader,
    project_id: str,
    dependencies: list[m.Dependency],
    batch_id: str | None,
) -> list[DependencyState]:
    states = []
    for dependency in dependencies:
        latest = await latest_run(reader, project_id, dependency.depends_on_job_id, batch_id)
        met = latest is not None and latest.status in CONDITIONS.get(dependency.condition, ())
        states.append(DependencyState(dependency, latest, met))
    return states


async def latest_run(
    reader: ExecutionReader, project_id: str, job_id: str, batch_id: str | None
) -> ExecutionView | None:
    where = visibility.ListFilter(project_id, workflow_id=job_id, batch_id=batch_id)
    rows = await visibility.first_rows(reader.client, where, LATEST_SCAN)
    if not rows:
        return None
    return reader.view_of(max(rows, key=lambda row: (row.start_time, row.id)))


@dataclass(frozen=True)
class RunDependencies:
    view: ExecutionView
    states: list[DependencyState]
    satisfied: bool


async def of_run(reader: ExecutionReader, project_id: str, run_id: str) -> RunDependencies:
    """A run's dependencies as they stand now. `satisfied`: once the run went past waiting,
    whether they held (a run that closed before they did: false); while it waits, whether
    every one holds at this moment."""
    view = (await reader.describe(project_id, run_id)).view
    dependencies = [m.Dependency.model_validate(raw) for raw in view.run.dependencies]
    states = await evaluate(reader, project_id, dependencies, view.batch_id)
    if not dependencies or view.dependencies_met_at is not None:
        satisfied = True
    elif view.status in TERMINAL_STATUSES:
        satisfied = False
    else:
        satisfied = all(state.satisfied for state in states)
    return RunDependencies(view, states, satisfied)
