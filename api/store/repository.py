"""Queries of the metadata store: plain async functions over an `AsyncSession`.

Rule: every function that writes commits before it returns, so a caller never holds a
half-written change; unique constraints, not read-then-write checks, guard against races.

Every query of the store is here, grouped by table (keys, workflows, job dependencies,
published activities, idempotency keys), so the module is a little over 400 lines: one place
to look before adding a query, rather than five small modules that import each other.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ferryman.api.codes import ErrorCode
from ferryman.api.store.errors import Conflict, NotFound
from ferryman.api.store.models import (
    ApiKey,
    IdempotencyKey,
    JobDependency,
    Project,
    WorkerActivity,
    Workflow,
    WorkflowVersion,
    utcnow,
)

KEY_PREFIX = "fm_"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # spare a write on every request


# ---- projects and keys ----------------------------------------------------------------


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest(raw: str) -> str:
    """SHA-256, not a slow password hash: keys are high-entropy and checked on every request."""
    return hashlib.sha256(raw.encode()).hexdigest()


async def ensure_project(
    session: AsyncSession, project_id: str, name: str | None = None
) -> Project:
    project = await session.get(Project, project_id)
    if project is not None:
        return project
    session.add(Project(id=project_id, name=name or project_id))
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()  # created meanwhile by another request
    found = await session.get(Project, project_id)
    assert found is not None
    return found


async def create_api_key(
    session: AsyncSession,
    project_id: str,
    scopes: Sequence[str],
    name: str | None = None,
    raw_key: str | None = None,
) -> tuple[ApiKey, str]:
    """Store a key's digest; returns the row and the raw key (shown once).

    With `raw_key` (a bootstrap key) an existing row with that digest is returned unchanged.
    """
    raw = raw_key or generate_key()
    hashed = digest(raw)
    if raw_key is not None:
        existing = await session.scalar(select(ApiKey).where(ApiKey.digest == hashed))
        if existing is not None:
            return existing, raw
    await ensure_project(session, project_id)
    key = ApiKey(
        id="key_" + secrets.token_hex(8),
        project_id=project_id,
        name=name,
        prefix=raw[:10],
        digest=hashed,
        scopes=list(scopes),
    )
    session.add(key)
    await session.commit()
    return key, raw


async def ensure_admin_key(
    session: AsyncSession, project_id: str, raw_key: str, name: str
) -> ApiKey:
    """The admin key `raw_key` of `project_id`, created with its project if missing.

    For keys given from outside (`FERRYMAN_BOOTSTRAP_API_KEY`, the dev key): an existing
    row is returned as it is, revoked or not, so the caller decides what a revoked one means.
    """
    await ensure_project(session, project_id)
    key, _ = await create_api_key(session, project_id, ["admin"], name=name, raw_key=raw_key)
    return key


async def find_api_key(session: AsyncSession, raw: str) -> ApiKey | None:
    """The live key with this value, or None (unknown or revoked)."""
    key = await session.scalar(select(ApiKey).where(ApiKey.digest == digest(raw)))
    if key is None or key.revoked_at is not None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        key.last_used_at = now
        await session.commit()
    return key


async def list_api_keys(session: AsyncSession, project_id: str) -> list[ApiKey]:
    result = await session.scalars(
        select(ApiKey).where(ApiKey.project_id == project_id).order_by(ApiKey.created_at)
    )
    return list(result)


async def revoke_api_key(session: AsyncSession, project_id: str, key_id: str) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None or key.project_id != project_id:
        raise NotFound(f"key {key_id!r} not found", ErrorCode.KEY_NOT_FOUND)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await session.commit()
    return key


# ---- workflow definitions -------------------------------------------------------------


async def create_workflow(
    session: AsyncSession, project_id: str, slug: str, name: str, document: dict[str, Any]
) -> WorkflowVersion:
    workflow = Workflow(project_id=project_id, slug=slug, name=name, latest_version=1)
    session.add(workflow)
    try:
        await session.flush()
    except IntegrityError as err:
        await session.rollback()
        raise Conflict(
            f"workflow {slug!r} already exists; PUT a new version instead",
            ErrorCode.WORKFLOW_EXISTS,
        ) from err
    version = WorkflowVersion(workflow_pk=workflow.pk, version=1, document=document)
    session.add(version)
    await session.commit()
    return version


async def add_workflow_version(
    session: AsyncSession, project_id: str, slug: str, name: str, document: dict[str, Any]
) -> WorkflowVersion:
    """The next version; two concurrent writers both succeed with distinct numbers."""
    for attempt in range(5):
        workflow = await get_workflow(session, project_id, slug)
        latest = await session.scalar(
            select(func.max(WorkflowVersion.version)).where(
                WorkflowVersion.workflow_pk == workflow.pk
            )
        )
        number = (latest or 0) + 1
        version = WorkflowVersion(workflow_pk=workflow.pk, version=number, document=document)
        session.add(version)
        workflow.latest_version = number
        workflow.name = name
        workflow.updated_at = utcnow()
        try:
            await session.commit()
            return version
        except IntegrityError:
            await session.rollback()
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


async def get_workflow(session: AsyncSession, project_id: str, slug: str) -> Workflow:
    workflow = await session.scalar(
        select(Workflow)
        .where(Workflow.project_id == project_id, Workflow.slug == slug)
        .execution_options(populate_existing=True)
    )
    if workflow is None:
        raise NotFound(f"workflow {slug!r} not found", ErrorCode.WORKFLOW_NOT_FOUND)
    return workflow


async def get_workflow_version(
    session: AsyncSession, project_id: str, slug: str, version: int | None
) -> tuple[Workflow, WorkflowVersion]:
    """A version of a workflow; None means the latest."""
    workflow = await get_workflow(session, project_id, slug)
    number = version or workflow.latest_version
    stored = await session.scalar(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_pk == workflow.pk, WorkflowVersion.version == number
        )
    )
    if stored is None:
        raise NotFound(
            f"workflow {slug!r} has no version {number}", ErrorCode.WORKFLOW_VERSION_NOT_FOUND
        )
    return workflow, stored


async def list_workflows(
    session: AsyncSession, project_id: str, limit: int, offset: int
) -> tuple[list[Workflow], int]:
    total = await session.scalar(
        select(func.count()).select_from(Workflow).where(Workflow.project_id == project_id)
    )
    rows = await session.scalars(
        select(Workflow)
        .where(Workflow.project_id == project_id)
        .order_by(Workflow.slug)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0)


async def list_workflow_versions(
    session: AsyncSession, project_id: str, slug: str
) -> list[WorkflowVersion]:
    workflow = await get_workflow(session, project_id, slug)
    rows = await session.scalars(
        select(WorkflowVersion)
        .where(WorkflowVersion.workflow_pk == workflow.pk)
        .order_by(WorkflowVersion.version)
    )
    return list(rows)


async def set_workflow_disabled(
    session: AsyncSession, project_id: str, slug: str, disabled: bool
) -> Workflow:
    workflow = await get_workflow(session, project_id, slug)
    workflow.disabled = disabled
    workflow.updated_at = utcnow()
    await session.commit()
    return workflow


# ---- job dependencies -----------------------------------------------------------------


async def create_job_dependency(
    session: AsyncSession,
    dependency: JobDependency,
    accept: Callable[[Sequence[JobDependency]], None],
) -> JobDependency:
    """Store `dependency` unless `accept`, shown every dependency of its project (this one
    included), raises; then nothing is stored. 409 for a pair of jobs already linked.

    A cycle is a property of the whole graph, which no constraint guards: writes of one
    project are serialized instead (its row locked on PostgreSQL; SQLite's single writer
    holds from the insert on), so two concurrent writes cannot close one together.
    """
    await session.execute(
        select(Project.id).where(Project.id == dependency.project_id).with_for_update()
    )
    session.add(dependency)
    try:
        await session.flush()
    except IntegrityError as err:
        await session.rollback()
        if not await _linked(session, dependency):
            raise  # a job that does not exist: the caller checks that first
        raise Conflict(
            f"job {dependency.job_slug!r} already depends on {dependency.depends_on_slug!r} "
            "(one dependency per pair of jobs)",
            ErrorCode.DEPENDENCY_EXISTS,
        ) from err
    try:
        accept(await _project_dependencies(session, dependency.project_id))
    except Exception:
        await session.rollback()
        raise
    await session.commit()
    return dependency


async def list_job_dependencies(
    session: AsyncSession, project_id: str, job_slug: str
) -> list[JobDependency]:
    """The dependencies of one job, oldest first."""
    rows = await session.scalars(
        select(JobDependency)
        .where(JobDependency.project_id == project_id, JobDependency.job_slug == job_slug)
        .order_by(JobDependency.created_at, JobDependency.id)
    )
    return list(rows)


async def _linked(session: AsyncSession, dependency: JobDependency) -> bool:
    found = await session.scalar(
        select(JobDependency.id).where(
            JobDependency.project_id == dependency.project_id,
            JobDependency.job_slug == dependency.job_slug,
            JobDependency.depends_on_slug == dependency.depends_on_slug,
        )
    )
    return found is not None


async def _project_dependencies(session: AsyncSession, project_id: str) -> list[JobDependency]:
    rows = await session.scalars(
        select(JobDependency).where(JobDependency.project_id == project_id)
    )
    return list(rows)


# ---- worker activities ----------------------------------------------------------------


async def publish_activities(
    session: AsyncSession,
    worker_identity: str,
    task_queue: str,
    activities: Sequence[tuple[str, str, dict[str, Any] | None]],
) -> None:
    """Upsert the activities a starting worker can run."""
    for name, description, input_schema in activities:
        row = await session.get(WorkerActivity, name)
        if row is None:
            row = WorkerActivity(name=name)
            session.add(row)
        row.description = description
        row.input_schema = input_schema
        row.worker_identity = worker_identity
        row.task_queue = task_queue
        row.published_at = utcnow()
    try:
        await session.commit()
    except IntegrityError:
        # Another worker published the same names at the same moment: theirs stand.
        await session.rollback()


async def published_activities(session: AsyncSession) -> dict[str, WorkerActivity]:
    rows = await session.scalars(select(WorkerActivity))
    return {row.name: row for row in rows}


# ---- idempotency keys -----------------------------------------------------------------


async def reserve_idempotency_key(
    session: AsyncSession,
    project_id: str,
    scope: str,
    key: str,
    body_hash: str,
    execution_id: str,
    ttl_hours: int = 24,
) -> tuple[IdempotencyKey, bool]:
    """Write the key's row first; (row, True) for the caller that won it, else (existing, False)."""
    now = utcnow()
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.project_id == project_id,
            IdempotencyKey.scope == scope,
            IdempotencyKey.key == key,
            IdempotencyKey.expires_at <= now,
        )
    )
    row = IdempotencyKey(
        project_id=project_id,
        scope=scope,
        key=key,
        body_hash=body_hash,
        execution_id=execution_id,
        expires_at=now + timedelta(hours=ttl_hours),
    )
    session.add(row)
    try:
        await session.commit()
        return row, True
    except IntegrityError:
        await session.rollback()
    existing = await session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.project_id == project_id,
            IdempotencyKey.scope == scope,
            IdempotencyKey.key == key,
        )
    )
    assert existing is not None
    return existing, False


async def record_idempotent_response(
    session: AsyncSession, row_pk: int, status_code: int, response: dict[str, Any]
) -> None:
    row = await session.get(IdempotencyKey, row_pk)
    if row is not None:
        row.status_code = status_code
        row.response = response
        await session.commit()


async def delete_idempotency_key(
    session: AsyncSession, project_id: str, scope: str, key: str
) -> None:
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.project_id == project_id,
            IdempotencyKey.scope == scope,
            IdempotencyKey.key == key,
        )
    )
    await session.commit()


async def delete_idempotency_keys_of(
    session: AsyncSession, project_id: str, execution_id: str
) -> int:
    """Free every key that answered with this execution; how many there were."""
    result = await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.project_id == project_id,
            IdempotencyKey.execution_id == execution_id,
        )
    )
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
