"""Path and header parameters shared by the `/api/v1` routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Path

ExecutionId = Annotated[str, Path(max_length=64, description="The execution id (`exec_...`)")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=256,
        description="Retry-safe creation: the same key and body give the same execution",
    ),
]
