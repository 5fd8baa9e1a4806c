"""Admission: what stands between a run's start and its first step.

In order, each only when the run's settings ask for it (`ExecutionInput.run`):

1. its schedule: `delayed` until `scheduled_at`, on a durable timer inside the workflow
   (Temporal's start delay cannot move; the `reschedule` signal moves this one);
2. the runs of other jobs it depends on: `waiting` until each dependency's condition holds
   (an activity polls visibility and heartbeats: no history grows while it waits);
3. its concurrency slot: `queued` until the key's gate (`ferryman.workflows.gate`) grants it.

`expires_at` bounds all three: passed before the first step, the run is `expired`. A
restored run (replay from a checkpoint, rollback, redrive) was admitted once already: it
only takes a slot again. Runs started before admission existed have no settings and start
at once, exactly as they did (no new commands, so their histories replay unchanged).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from ferryman import search_attributes as sa
    from ferryman.statuses import Status
    from ferryman.workflows import gate, memo
    from ferryman.workflows import models as m
    from ferryman.workflows.errors import RunExpired

if TYPE_CHECKING:
    from ferryman.workflows.execution import ExecutionInterpreter

DEPENDENCIES_ACTIVITY = "ferryman.dependencies.await"


class DependencyWait(BaseModel):
    """Input of `ferryman.dependencies.await`: return once every dependency holds."""

    project_id: str
    batch_id: str | None = None
    dependencies: list[m.Dependency] = Field(default_factory=list)


class Admission:
    def __init__(self, execution: ExecutionInterpreter) -> None:
        self.execution = execution
        self.status: Status | None = None  # the run's status until it is admitted
        self.scheduled_at: datetime | None = None
        self.expires_at: datetime | None = None
        self.asked_gate: str | None = None  # the gate this run asked: it must hear back
        self.granted = False

    @property
    def delayed(self) -> bool:
        return self.status == Status.DELAYED

    async def admit(self, params: m.ExecutionInput) -> None:
        """Return once the run may start its first step (or a stop ended admission);
        `RunExpired` when `expires_at` passed first."""
        settings = params.run
        if settings is None:
            return
        fresh = params.restored is None
        self.scheduled_at = settings.scheduled_at if fresh else None
        self.expires_at = settings.expires_at if fresh else None
        await self._delay()
        if fresh and settings.dependencies and not self._stopped():
            await self._dependencies(params, settings)
        slot = settings.concurrency
        if slot is not None and slot.limit is not None and not self._stopped():
            await self._slot(params, settings, slot)
        self._hold(None)

    def reschedule(self, scheduled_at: datetime) -> None:
        self.scheduled_at = scheduled_at
        self.execution.books.attributes([sa.SCHEDULED_AT.value_set(scheduled_at)])

    async def release(self) -> None:
        """Give the slot back (or withdraw from the queue): the run is closing."""
        if self.asked_gate is None:
            return
        handle = workflow.get_external_workflow_handle(self.asked_gate)
        self.asked_gate = None
        assert self.execution.params is not None
        try:
            await handle.signal(
                gate.ConcurrencyGate.release,
                gate.SlotRelease(execution_id=self.execution.params.execution_id),
            )
        except Exception:  # no gate to tell: it finds this run closed itself
            workflow.logger.warning("could not release the slot of gate %s", handle.id)

    # ---- the three waits --------------------------------------------------------------

    async def _delay(self) -> None:
        while not self._stopped():
            now = workflow.now()
            if self.scheduled_at is None or self.scheduled_at <= now:
                self._check_expiry("starting")
                return
            self._check_expiry("delayed")
            self._hold(Status.DELAYED)
            until = self.scheduled_at
            deadline = min(until, self.expires_at) if self.expires_at else until
            await self._wait(self._moved(until), deadline - now, f"delayed until {until}")

    async def _dependencies(self, params: m.ExecutionInput, settings: m.RunSettings) -> None:
        self._check_expiry("waiting for its dependencies")
        self._hold(Status.WAITING)
        wait = DependencyWait(
            project_id=params.project_id,
            batch_id=settings.batch_id,
            dependencies=settings.dependencies,
        )
        names = ", ".join(sorted({d.depends_on_job_id for d in settings.dependencies}))
        polling = workflow.start_activity(
            DEPENDENCIES_ACTIVITY,
            wait,
            start_to_close_timeout=timedelta(days=1),
            heartbeat_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
            summary=f"wait for the latest runs of {names}",
        )
        try:
            await self._wait(polling.done, self._until_expiry(), f"dependencies on {names}")
            if self._stopped():
                return
            if not polling.done():  # expiry was the only other bound
                raise RunExpired("waiting for its dependencies")
            await polling
        finally:
            if not polling.done():
                polling.cancel()
        self.execution.books.memo(memo.dependencies_met(workflow.now()))

    async def _slot(
        self, params: m.ExecutionInput, settings: m.RunSettings, slot: m.ConcurrencySlot
    ) -> None:
        assert slot.limit is not None
        self._check_expiry("queued for a concurrency slot")
        self._hold(Status.QUEUED)
        gate_id = gate.gate_id(params.project_id, slot.key)
        self.asked_gate = gate_id
        created = workflow.memo_value(memo.Key.CREATED_AT, default=None, type_hint=str)
        request = gate.SlotRequest(
            execution_id=params.execution_id,
            limit=slot.limit,
            priority=settings.priority,
            arrival=datetime.fromisoformat(created) if created else workflow.info().start_time,
        )
        # One signal-with-start: short, so since engine 2 a local activity, run in this
        # workflow task (no task queue round trip).
        enter = (
            workflow.execute_local_activity
            if self.execution.engine >= 2
            else workflow.execute_activity
        )
        await enter(
            gate.ENTER_ACTIVITY,
            gate.GateEntry(gate_id=gate_id, request=request),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
            summary=f"ask for a slot of {slot.key!r} (limit {slot.limit})",
        )
        await self._wait(
            lambda: self.granted, self._until_expiry(), f"a concurrency slot of {slot.key!r}"
        )
        self._check_expiry("queued for a concurrency slot")

    # ---- helpers ----------------------------------------------------------------------

    def _stopped(self) -> bool:
        return self.execution.stop_requested

    def _hold(self, status: Status | None) -> None:
        self.status = status
        self.execution.refresh_status()

    def _until_expiry(self) -> timedelta | None:
        if self.expires_at is None:
            return None
        return max(self.expires_at - workflow.now(), timedelta(0))

    def _check_expiry(self, phase: str) -> None:
        if self.expires_at is not None and workflow.now() >= self.expires_at and not self.granted:
            raise RunExpired(phase)

    def _moved(self, until: datetime) -> Callable[[], bool]:
        return lambda: self.scheduled_at != until

    async def _wait(self, done: Callable[[], bool], bound: timedelta | None, what: str) -> None:
        """Until `done`, a stop, or `bound` has passed (the caller tells which)."""
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: done() or self._stopped(), timeout=bound, timeout_summary=what
            )
