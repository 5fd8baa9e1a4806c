"""What the DBOS side needs besides its app: its own venv, and a fresh PostgreSQL database
per bench run (dropped after it) for DBOS's system database."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

HERE = Path(__file__).resolve().parent
VENV_PYTHON = HERE / ".venv-dbos" / "bin" / "python"
REQUIREMENTS = HERE / "dbos-requirements.txt"
SETUP = HERE / "dbos_setup.sh"
# The server, without a database: the bench adds one of its own.
POSTGRES_URL = os.environ.get("FERRYMAN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")


def pinned_version() -> str:
    """The DBOS version `dbos-requirements.txt` pins."""
    for line in REQUIREMENTS.read_text().splitlines():
        if line.startswith("dbos=="):
            return line.removeprefix("dbos==").strip()
    raise ValueError(f"{REQUIREMENTS} pins no dbos version")


def installed_version() -> str | None:
    """The DBOS version in the DBOS venv; None if there is no such venv or no DBOS in it."""
    if not VENV_PYTHON.exists():
        return None
    probe = "import importlib.metadata as m; print(m.version('dbos'))"
    answer = subprocess.run([VENV_PYTHON, "-c", probe], capture_output=True, text=True)
    return answer.stdout.strip() if answer.returncode == 0 else None


def ensure_venv(say: Callable[[str], None]) -> str:
    """Make or update the DBOS venv unless it has the pinned DBOS; the version it has."""
    wanted = pinned_version()
    if installed_version() != wanted:
        say(f"  setting up bench/.venv-dbos (DBOS Transact {wanted}; once, about a minute)...")
        subprocess.run(["bash", str(SETUP)], check=True, stdout=subprocess.DEVNULL)
    return wanted


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A new, empty database on the local PostgreSQL; its URL. Dropped on the way out,
    whoever is still connected."""
    name = f"bench_dbos_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(f"{POSTGRES_URL}/postgres")
    except (OSError, asyncpg.PostgresError) as err:
        raise RuntimeError(
            f"the DBOS side needs PostgreSQL at {POSTGRES_URL} ({err}); start it, point "
            "FERRYMAN_BENCH_POSTGRES_URL at one, or leave the side out (--sides)"
        ) from err
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{POSTGRES_URL}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
