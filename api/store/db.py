"""Engine, sessions and migrations of the metadata database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

STORE_DIR = Path(__file__).resolve().parent
# Alembic keeps its context in module globals: one migration at a time per process.
_MIGRATION_LOCK = asyncio.Lock()


def create_engine(url: str) -> AsyncEngine:
    """An engine for `url`; SQLite gets WAL and a busy timeout so API and worker share it."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30})
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def _alembic_config(connection: Connection) -> Config:
    config = Config(str(STORE_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(STORE_DIR / "migrations"))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(_alembic_config(connection), "head")


async def migrate(engine: AsyncEngine, attempts: int = 5) -> None:
    """`alembic upgrade head`. The API and the workers all call it at start, so a race with
    another process creating the same tables is retried: the loser then finds them done."""
    for attempt in range(1, attempts + 1):
        try:
            async with _MIGRATION_LOCK, engine.begin() as connection:
                await connection.run_sync(_upgrade)
            return
        except DBAPIError:
            if attempt == attempts:
                raise
            await asyncio.sleep(0.2 * attempt)


@dataclass(frozen=True)
class Store:
    """An open, migrated metadata database: its engine and the session factory on it."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


@asynccontextmanager
async def open_store(url: str) -> AsyncIterator[Store]:
    """The database at `url`, migrated (created on first use); the engine is disposed on exit.

    Every process that uses the store (API, worker, `up`, `keys`) opens it here, so each one
    brings the schema up to date before its first query.
    """
    engine = create_engine(url)
    try:
        await migrate(engine)
        yield Store(engine, session_factory(engine))
    finally:
        await engine.dispose()


async def check(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
