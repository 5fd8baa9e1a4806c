"""The metadata store on SQLite and on the machine's PostgreSQL (a fresh database per run)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select, text, update
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ferryman.api.codes import ErrorCode
from ferryman.api.dependencies import cycle_through
from ferryman.api.store import db, repository
from ferryman.api.store.errors import Conflict, NotFound
from ferryman.api.store.models import ApiKey, IdempotencyKey, JobDependency, utcnow
from ferryman.settings import normalise_database_url
from tests.support.postgres import postgres_url


async def _postgres_database() -> AsyncIterator[str]:
    """CREATE DATABASE ferryman_test_<random>; dropped afterwards."""
    admin_url = normalise_database_url(postgres_url())
    admin = db.create_engine(admin_url)
    name = f"ferryman_test_{uuid.uuid4().hex[:10]}"
    try:
        async with admin.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text(f'CREATE DATABASE "{name}"'))
    except (OSError, Exception) as err:  # unreachable server: skip, unless CI demands it
        await admin.dispose()
        if os.environ.get("FERRYMAN_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(
            f"PostgreSQL at {postgres_url()} is not reachable ({err}); set "
            "FERRYMAN_TEST_POSTGRES_URL to test the store on PostgreSQL"
        )
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        async with db.open_store(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}") as store:
            yield store.engine
        return
    async for url in _postgres_database():
        async with db.open_store(url) as store:
            yield store.engine


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return db.session_factory(engine)


async def test_migrations_are_idempotent_and_race_safe(engine: AsyncEngine) -> None:
    await asyncio.gather(db.migrate(engine), db.migrate(engine))
    await db.check(engine)
    async with engine.connect() as connection:
        version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    assert version == "0002"


async def test_keys_store_digests_only(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        key, raw = await repository.create_api_key(session, "acme", ["executions:read"], "ci")
        assert raw.startswith("fm_") and len(raw) > 40
        stored = await session.scalar(select(ApiKey).where(ApiKey.id == key.id))
        assert stored is not None
        assert stored.digest == repository.digest(raw) and raw not in stored.digest
        assert stored.prefix == raw[:10]
        found = await repository.find_api_key(session, raw)
        assert found is not None and found.scopes == ["executions:read"]
        assert found.last_used_at is not None and found.last_used_at.tzinfo is not None
        assert await repository.find_api_key(session, raw + "x") is None
        assert [k.id for k in await repository.list_api_keys(session, "acme")] == [key.id]
        with pytest.raises(NotFound):
            await repository.revoke_api_key(session, "other", key.id)
        await repository.revoke_api_key(session, "acme", key.id)
        assert await repository.find_api_key(session, raw) is None


async def test_bootstrap_key_is_created_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        first, _ = await repository.create_api_key(session, "p", ["admin"], raw_key="fm_fixed")
        again, _ = await repository.create_api_key(session, "p", ["admin"], raw_key="fm_fixed")
        assert first.id == again.id


async def test_admin_key_is_ensured_with_its_project_and_kept_when_revoked(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        key = await repository.ensure_admin_key(session, "boot", "fm_boot", name="bootstrap")
        assert (key.project_id, key.scopes, key.name) == ("boot", ["admin"], "bootstrap")
        await repository.revoke_api_key(session, "boot", key.id)
        again = await repository.ensure_admin_key(session, "boot", "fm_boot", name="bootstrap")
        assert again.id == key.id and again.revoked_at is not None


async def test_definitions_are_versioned_per_project(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        for project in ("a", "b"):
            await repository.ensure_project(session, project)
        await repository.create_workflow(session, "a", "flow", "Flow", {"v": 1})
        await repository.create_workflow(session, "b", "flow", "Flow", {"v": 1})
        with pytest.raises(Conflict, match="'flow' already exists"):
            await repository.create_workflow(session, "a", "flow", "Flow", {"v": 1})
        second = await repository.add_workflow_version(session, "a", "flow", "Flow 2", {"v": 2})
        assert second.version == 2
        workflow, latest = await repository.get_workflow_version(session, "a", "flow", None)
        assert (workflow.latest_version, latest.document, workflow.name) == (2, {"v": 2}, "Flow 2")
        _, first = await repository.get_workflow_version(session, "a", "flow", 1)
        assert first.document == {"v": 1}
        with pytest.raises(NotFound, match="no version 3"):
            await repository.get_workflow_version(session, "a", "flow", 3)
        with pytest.raises(NotFound):
            await repository.get_workflow(session, "c", "flow")
        _, untouched = await repository.get_workflow_version(session, "b", "flow", None)
        assert untouched.version == 1
        disabled = await repository.set_workflow_disabled(session, "a", "flow", True)
        assert disabled.disabled
        rows, total = await repository.list_workflows(session, "a", limit=10, offset=0)
        assert total == 1 and rows[0].slug == "flow"


async def test_concurrent_versions_get_distinct_numbers(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await repository.ensure_project(session, "p")
        await repository.create_workflow(session, "p", "race", "Race", {})

    async def add(n: int) -> int:
        async with sessions() as session:
            version = await repository.add_workflow_version(session, "p", "race", "Race", {"n": n})
            return version.version

    numbers = await asyncio.gather(*(add(n) for n in range(4)))
    assert sorted(numbers) == [2, 3, 4, 5]


async def _jobs(sessions: async_sessionmaker[AsyncSession], project: str, *slugs: str) -> None:
    async with sessions() as session:
        await repository.ensure_project(session, project)
        for slug in slugs:
            await repository.create_workflow(session, project, slug, slug, {})


def _edge(project: str, job: str, depends_on: str, condition: str = "completed") -> JobDependency:
    return JobDependency(
        id=f"dep_{uuid.uuid4().hex}",
        project_id=project,
        job_slug=job,
        depends_on_slug=depends_on,
        condition=condition,
    )


class CycleError(Exception):
    pass


def no_cycle(job: str, depends_on: str) -> Callable[[Sequence[JobDependency]], None]:
    def accept(rows: Sequence[JobDependency]) -> None:
        if cycle_through([(r.job_slug, r.depends_on_slug) for r in rows], job, depends_on):
            raise CycleError(f"{job} -> {depends_on}")

    return accept


def accept_all(rows: Sequence[JobDependency]) -> None:
    pass


async def test_job_dependencies_are_stored_per_project_once_per_pair(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _jobs(sessions, "p", "ship", "pack", "pay")
    await _jobs(sessions, "q", "ship", "pack")
    async with sessions() as session:
        first = await repository.create_job_dependency(
            session, _edge("p", "ship", "pack"), accept_all
        )
        first_id = first.id  # a later rollback in this session expires `first`
        await repository.create_job_dependency(
            session, _edge("p", "ship", "pay", "failed"), accept_all
        )
        await repository.create_job_dependency(session, _edge("q", "ship", "pack"), accept_all)
        with pytest.raises(Conflict, match="'ship' already depends on 'pack'") as raised:
            await repository.create_job_dependency(
                session, _edge("p", "ship", "pack", "finished"), accept_all
            )
        assert raised.value.code == ErrorCode.DEPENDENCY_EXISTS
        with pytest.raises(IntegrityError):  # both ends must be jobs of the project
            await repository.create_job_dependency(session, _edge("q", "ship", "pay"), accept_all)
        with pytest.raises(CycleError):  # refused by `accept`: nothing is stored
            await repository.create_job_dependency(
                session, _edge("p", "pack", "ship"), no_cycle("pack", "ship")
            )
    async with sessions() as session:
        mine = await repository.list_job_dependencies(session, "p", "ship")
        assert [(d.depends_on_slug, d.condition) for d in mine] == [
            ("pack", "completed"),
            ("pay", "failed"),
        ]
        assert mine[0].id == first_id and mine[0].created_at.tzinfo is not None
        assert await repository.list_job_dependencies(session, "p", "pack") == []
        theirs = await repository.list_job_dependencies(session, "q", "ship")
        assert [d.depends_on_slug for d in theirs] == ["pack"]


async def test_concurrent_dependencies_cannot_close_a_cycle_together(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    pairs = [(f"a{n}", f"b{n}") for n in range(5)]
    await _jobs(sessions, "p", *(job for pair in pairs for job in pair))

    async def link(job: str, depends_on: str) -> bool:
        async with sessions() as session:
            try:
                await repository.create_job_dependency(
                    session, _edge("p", job, depends_on), no_cycle(job, depends_on)
                )
            except CycleError:
                return False
            return True

    for a, b in pairs:  # each pair raced both ways at once: exactly one direction stands
        results = await asyncio.gather(link(a, b), link(b, a))
        assert sorted(results) == [False, True], (a, b)
    async with sessions() as session:
        for a, b in pairs:
            stored = await repository.list_job_dependencies(session, "p", a)
            stored += await repository.list_job_dependencies(session, "p", b)
            assert len(stored) == 1


async def test_activities_are_upserted(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        await repository.publish_activities(session, "w1", "q", [("a.b", "first", None)])
        await repository.publish_activities(
            session, "w2", "q", [("a.b", "second", {"type": "object"}), ("c.d", "", None)]
        )
        published = await repository.published_activities(session)
    assert sorted(published) == ["a.b", "c.d"]
    assert published["a.b"].description == "second"
    assert published["a.b"].input_schema == {"type": "object"}


async def test_idempotency_key_has_exactly_one_winner(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def reserve(n: int) -> bool:
        async with sessions() as session:
            _, won = await repository.reserve_idempotency_key(
                session, "p", "create", "key-1", "hash", f"exec_{n}"
            )
            return won

    results = await asyncio.gather(*(reserve(n) for n in range(50)))
    assert results.count(True) == 1
    async with sessions() as session:
        row, won = await repository.reserve_idempotency_key(
            session, "p", "create", "key-1", "hash", "exec_late"
        )
        assert not won and row.execution_id.startswith("exec_")
        await repository.record_idempotent_response(session, row.pk, 201, {"id": row.execution_id})
        other, won_elsewhere = await repository.reserve_idempotency_key(
            session, "q", "create", "key-1", "hash", "exec_q"
        )
        assert won_elsewhere and other.execution_id == "exec_q"


async def test_expired_idempotency_keys_are_free_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        await repository.reserve_idempotency_key(session, "p", "create", "k", "h", "exec_old")
        await session.execute(
            update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
        row, won = await repository.reserve_idempotency_key(
            session, "p", "create", "k", "h", "exec_new"
        )
        assert won and row.execution_id == "exec_new"
        assert row.expires_at.tzinfo is not None and row.expires_at > utcnow()
