"""Idempotent requests: the same key and body within 24 h give the first answer again.

The key's row (project, scope, key, body hash, execution id) is written first, under a
unique constraint, so of any number of concurrent duplicates exactly one wins. The start
then uses the execution id recorded in that row, with a reuse policy that refuses a second
run: a client retrying after a crash between the row and the start re-issues the very same
start, which heals the gap instead of leaving the key pointing at nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ferryman.api.codes import ErrorCode
from ferryman.api.errors import Conflict
from ferryman.api.executions.ids import new_execution_id
from ferryman.api.store import repository

REPLAYED_HEADER = "Idempotent-Replayed"

# Produces the answer for an execution id: (status code, JSON body).
Producer = Callable[[str], Awaitable[tuple[int, dict[str, Any]]]]


@dataclass
class IdempotentRequest:
    project_id: str
    scope: str
    key: str
    body: Any


@dataclass(frozen=True)
class Answered:
    status_code: int
    body: dict[str, Any]
    replayed: bool


def body_hash(scope: str, body: Any) -> str:
    canonical = json.dumps([scope, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def answer(
        self, project_id: str, scope: str, key: str | None, body: Any, produce: Producer
    ) -> JSONResponse:
        """`produce` for a fresh execution id, once per key when the client sent one."""
        outcome = await self.once(project_id, scope, key, body, produce)
        return _answer(outcome.status_code, outcome.body, outcome.replayed)

    async def once(
        self, project_id: str, scope: str, key: str | None, body: Any, produce: Producer
    ) -> Answered:
        """Like `answer`, as data (for a call that answers several requests at once)."""
        if key is None:
            status_code, answer = await produce(new_execution_id())
            return Answered(status_code, answer, replayed=False)
        request = IdempotentRequest(project_id, scope, key, body)
        return await self.respond(request, new_execution_id(), produce)

    async def respond(
        self, request: IdempotentRequest, execution_id: str, produce: Producer
    ) -> Answered:
        """Answer once for this key; every later duplicate gets that answer replayed."""
        digest = body_hash(request.scope, request.body)
        async with self.sessions() as session:
            row, won = await repository.reserve_idempotency_key(
                session, request.project_id, request.scope, request.key, digest, execution_id
            )
        if row.body_hash != digest:
            raise Conflict(
                "this Idempotency-Key was already used with a different request body; "
                "use a new key for a new request",
                ErrorCode.IDEMPOTENCY_KEY_REUSED,
            )
        if not won and row.response is not None and row.status_code is not None:
            return Answered(row.status_code, row.response, replayed=True)
        # The winner, or a duplicate of a request still in flight (or cut short by a
        # crash): both issue the same start with the recorded id, which is idempotent.
        try:
            status_code, body = await produce(row.execution_id)
        except Exception:
            # Any failure, foreseen or not, frees the key: the corrected retry must not meet
            # a 409. (A crash or a cancellation is no failure of the call: the row stays,
            # and the retry with the same body re-issues the same start.)
            if won:
                await self._forget(request)
            raise
        async with self.sessions() as session:
            await repository.record_idempotent_response(session, row.pk, status_code, body)
        return Answered(status_code, body, replayed=not won)

    async def release(self, project_id: str, execution_id: str) -> bool:
        """The keys that started `execution_id` may start a new execution; were there any."""
        async with self.sessions() as session:
            freed = await repository.delete_idempotency_keys_of(session, project_id, execution_id)
        return freed > 0

    async def _forget(self, request: IdempotentRequest) -> None:
        """A refused request started nothing: the key stays free for a corrected retry."""
        async with self.sessions() as session:
            await repository.delete_idempotency_key(
                session, request.project_id, request.scope, request.key
            )


def _answer(status_code: int, body: dict[str, Any], replayed: bool) -> JSONResponse:
    headers = {REPLAYED_HEADER: "true"} if replayed else {}
    return JSONResponse(body, status_code=status_code, headers=headers)
