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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ferryman import metrics
from ferryman.api.codes import ErrorCode
from ferryman.api.errors import ApiError
from ferryman.api.executions.ids import new_execution_id
from ferryman.api.store import repository

REPLAYED_HEADER = "Idempotent-Replayed"

# Produces the answer for an execution id: (status code, JSON body).
Producer = Callable[[str], Awaitable[tuple[int, dict[str, Any]]]]
# Produces the answers (JSON bodies) of many requests, given as (position, execution id).
BatchProducer = Callable[[list[tuple[int, str]]], Awaitable[list[dict[str, Any]]]]


@dataclass
class IdempotentRequest:
    project_id: str
    scope: str
    key: str
    body: Any


@dataclass(frozen=True)
class Reservation:
    """A request's hold on its key: the execution id to start under, whether this request
    wrote the row (`won`), and the earlier answer to replay when that request finished."""

    request: IdempotentRequest
    row_pk: int
    execution_id: str
    won: bool
    replay: Answered | None


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
        answered = await self.respond(request, new_execution_id(), produce)
        if answered.replayed:
            metrics.API.replayed(scope)
        return answered

    async def once_all(
        self,
        project_id: str,
        scope: str,
        requests: Sequence[tuple[str | None, Any]],
        produce: BatchProducer,
        status_code: int = 201,
    ) -> list[Answered]:
        """Like `once` for many requests (key or None, body) answered in one call, all or
        nothing: every key is reserved first (a refused one frees the others), then
        `produce` answers the requests that are not an earlier answer replayed; when it
        fails, every key this call won is free again."""
        keyed = [
            (index, IdempotentRequest(project_id, scope, key, body))
            for index, (key, body) in enumerate(requests)
            if key is not None
        ]
        reserved = await self.reserve_all([(request, new_execution_id()) for _, request in keyed])
        held = {index: reservation for (index, _), reservation in zip(keyed, reserved, strict=True)}
        answers = {index: r.replay for index, r in held.items() if r.replay is not None}
        pending = [
            (index, held[index].execution_id if index in held else new_execution_id())
            for index in range(len(requests))
            if index not in answers
        ]
        try:
            bodies = await produce(pending)
            for (index, _), body in zip(pending, bodies, strict=True):
                answers[index] = (
                    await self.settle(held[index], status_code, body)
                    if index in held
                    else Answered(status_code, body, replayed=False)
                )
        except Exception:
            await self.undo_all([held[index] for index, _ in pending if index in held])
            raise
        return [answers[index] for index in range(len(requests))]

    async def respond(
        self, request: IdempotentRequest, execution_id: str, produce: Producer
    ) -> Answered:
        """Answer once for this key; every later duplicate gets that answer replayed."""
        reservation = await self.reserve(request, execution_id)
        if reservation.replay is not None:
            return reservation.replay
        # The winner, or a duplicate of a request still in flight (or cut short by a
        # crash): both issue the same start with the recorded id, which is idempotent.
        try:
            status_code, body = await produce(reservation.execution_id)
        except Exception:
            # Any failure, foreseen or not, frees the key: the corrected retry must not meet
            # a 409. (A crash or a cancellation is no failure of the call: the row stays,
            # and the retry with the same body re-issues the same start.)
            await self.undo(reservation)
            raise
        return await self.settle(reservation, status_code, body)

    async def reserve(self, request: IdempotentRequest, execution_id: str) -> Reservation:
        """The key's row, written with `execution_id` unless it exists (409 when it came
        with another body)."""
        digest = body_hash(request.scope, request.body)
        async with self.sessions() as session:
            row, won = await repository.reserve_idempotency_key(
                session, request.project_id, request.scope, request.key, digest, execution_id
            )
        if row.body_hash != digest:
            raise ApiError(
                "this Idempotency-Key was already used with a different request body; "
                "use a new key for a new request",
                ErrorCode.IDEMPOTENCY_KEY_REUSED,
            )
        replay = None
        if not won and row.response is not None and row.status_code is not None:
            replay = Answered(row.status_code, row.response, replayed=True)
        return Reservation(request, row.pk, row.execution_id, won, replay)

    async def reserve_all(
        self, requests: Sequence[tuple[IdempotentRequest, str]]
    ) -> list[Reservation]:
        """`reserve` each, all or nothing: when one is refused, the ones won are undone."""
        reservations: list[Reservation] = []
        try:
            for request, execution_id in requests:
                reservations.append(await self.reserve(request, execution_id))
        except Exception:
            await self.undo_all(reservations)
            raise
        return reservations

    async def settle(self, reservation: Reservation, status_code: int, body: Any) -> Answered:
        """Record the answer that later duplicates get replayed."""
        async with self.sessions() as session:
            await repository.record_idempotent_response(
                session, reservation.row_pk, status_code, body
            )
        return Answered(status_code, body, replayed=not reservation.won)

    async def undo(self, reservation: Reservation) -> None:
        """A call that started nothing: the key it won stays free for a corrected retry."""
        if reservation.won:
            async with self.sessions() as session:
                await repository.delete_idempotency_key(
                    session,
                    reservation.request.project_id,
                    reservation.request.scope,
                    reservation.request.key,
                )

    async def undo_all(self, reservations: Sequence[Reservation]) -> None:
        for reservation in reservations:
            await self.undo(reservation)

    async def release(self, project_id: str, execution_id: str) -> bool:
        """The keys that started `execution_id` may start a new execution; were there any."""
        async with self.sessions() as session:
            freed = await repository.delete_idempotency_keys_of(session, project_id, execution_id)
        return freed > 0


def _answer(status_code: int, body: dict[str, Any], replayed: bool) -> JSONResponse:
    headers = {REPLAYED_HEADER: "true"} if replayed else {}
    return JSONResponse(body, status_code=status_code, headers=headers)
