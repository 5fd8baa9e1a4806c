"""Job dependencies: a new run of a job waits until, for each of its dependencies, the latest
run of the job it depends on meets the dependency's condition.

Here they are stored and read (the metadata DB), between jobs of one project, and refused
when they would close a cycle: the runs on a cycle would wait on each other forever. A run
takes a snapshot of its job's dependencies when it is triggered (`DefinitionService`
caches them); whether they hold is `ferryman.api.executions.dependencies`' question.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from ferryman.api.codes import ErrorCode
from ferryman.api.errors import ApiError
from ferryman.api.store import repository
from ferryman.api.store.errors import NotFound as StoreNotFound
from ferryman.api.store.models import JobDependency
from ferryman.statuses import Condition
from ferryman.workflows import models as m
from ferryman.workflows.runs import run_id


async def add(
    session: AsyncSession, project_id: str, job: str, depends_on: str, condition: Condition
) -> m.Dependency:
    """Store that `job` depends on `depends_on`: 404 for a job the project does not have,
    422 for a dependency on itself or one that closes a cycle, 409 for a pair already linked.
    """
    await repository.get_workflow(session, project_id, job)
    if depends_on == job:
        raise ApiError(
            f"job {job!r} cannot depend on itself: its runs would wait forever",
            ErrorCode.DEPENDENCY_CYCLE,
        )
    await _check_depended_on(session, project_id, depends_on)
    row = JobDependency(
        id=new_dependency_id(),
        project_id=project_id,
        job_slug=job,
        depends_on_slug=depends_on,
        condition=condition.value,
    )
    stored = await repository.create_job_dependency(
        session, row, lambda rows: _refuse_cycle(rows, job, depends_on)
    )
    return _model(stored)


def new_dependency_id() -> str:
    """`dep_` + the ULID of run ids (`ferryman.workflows.runs.run_id`): ids sort by time."""
    return "dep_" + run_id(time.time_ns() // 1_000_000, secrets.randbits(80)).removeprefix("exec_")


async def of_job(session: AsyncSession, project_id: str, job: str) -> list[m.Dependency]:
    """The job's dependencies, oldest first (404 for a job the project does not have)."""
    await repository.get_workflow(session, project_id, job)
    rows = await repository.list_job_dependencies(session, project_id, job)
    return [_model(row) for row in rows]


def cycle_through(edges: Iterable[tuple[str, str]], job: str, depends_on: str) -> list[str] | None:
    """The shortest cycle the edge `job -> depends_on` would close, as
    `[job, depends_on, ..., job]`, or None. An edge `(a, b)` reads "a depends on b"."""
    graph: dict[str, list[str]] = {}
    for source, target in edges:
        graph.setdefault(source, []).append(target)
    came_from: dict[str, str | None] = {depends_on: None}
    queue = deque([depends_on])
    while queue:
        node = queue.popleft()
        if node == job:
            return [job, *reversed(_path_back(came_from, job))]
        for target in sorted(graph.get(node, ())):
            if target not in came_from:
                came_from[target] = node
                queue.append(target)
    return None


def _path_back(came_from: dict[str, str | None], node: str) -> list[str]:
    path: list[str] = []
    at: str | None = node
    while at is not None:
        path.append(at)
        at = came_from[at]
    return path


def _refuse_cycle(rows: Sequence[JobDependency], job: str, depends_on: str) -> None:
    cycle = cycle_through(((r.job_slug, r.depends_on_slug) for r in rows), job, depends_on)
    if cycle is None:
        return
    sentence = (
        f"job {job!r} cannot depend on {depends_on!r}: that closes the cycle "
        f"{' -> '.join(cycle)} (each job depends on the next), whose runs would wait forever"
    )
    raise ApiError(
        sentence,
        ErrorCode.DEPENDENCY_CYCLE,
        [{"loc": ["body", "depends_on_job_id"], "msg": sentence, "cycle": cycle}],
    )


async def _check_depended_on(session: AsyncSession, project_id: str, depends_on: str) -> None:
    try:
        await repository.get_workflow(session, project_id, depends_on)
    except StoreNotFound as err:
        raise ApiError(
            f"job {depends_on!r} (depends_on_job_id) not found", ErrorCode.WORKFLOW_NOT_FOUND
        ) from err


def _model(row: JobDependency) -> m.Dependency:
    return m.Dependency(
        id=row.id,
        job_id=row.job_slug,
        depends_on_job_id=row.depends_on_slug,
        condition=row.condition,
        created_at=row.created_at,
    )
