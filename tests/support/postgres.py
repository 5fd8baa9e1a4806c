"""The machine's PostgreSQL, which the store and the deployment tests use when it is there."""

from __future__ import annotations

import os


def postgres_url() -> str:
    return os.environ.get(
        "FERRYMAN_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
