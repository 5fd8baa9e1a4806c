"""The concurrency gate: one workflow per (project, key) that hands out `limit` slots.

Temporal has no per-key concurrency limit (temporalio/temporal#7666), so each key gets a
small workflow of its own that owns its slots, in the spirit of the resource-pool sample:

- A run that needs a slot asks for one (`acquire`), by signal-with-start from its
  `ferryman.gate.enter` activity, so the gate starts on first use; the run is `queued`.
- The gate grants free slots to its waiters in priority order, then arrival (trigger) order,
  by signalling each run (`slot_granted`); the run goes on to its first step.
- A run gives its slot back (`release`) on every close its own code sees: completed,
  failed, expired, canceled; a run that withdraws while queued releases the same way.
- What a run cannot say (terminated from outside) the gate finds out itself: while runs wait
  and every slot is held, it asks every `reconcile_secs` which holders have closed
  (`ferryman.gate.reconcile`, a describe each) and frees them. A grant to a run that has
  closed meanwhile fails, and frees the slot at once.

A worker that dies leaks nothing: the run it was running lives on (Temporal hands it to
another worker) and keeps its slot until it closes. The gate continues as new when its
history grows long, and completes after a minute with neither holders nor waiters (the
next `acquire` starts it again).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from ferryman import metrics

GATE_WORKFLOW = "FerrymanConcurrencyGate"
GRANT_SIGNAL = "slot_granted"
ENTER_ACTIVITY = "ferryman.gate.enter"
RECONCILE_ACTIVITY = "ferryman.gate.reconcile"
IDLE = timedelta(minutes=1)  # a gate with no holders and no waiters completes after this
HISTORY_LIMIT = 5_000  # events before the gate continues as new
# Gates started since grant every free slot in one workflow task (see `_grant`).
BATCH_PATCH = "batch-grants"


def gate_id(project_id: str, key: str) -> str:
    """The gate's workflow id: one per key in each project."""
    return f"ferryman-gate/{project_id}/{key}"


def gate_of(workflow_id: str) -> tuple[str, str]:
    """The project and the key a gate's workflow id names."""
    _, project_id, key = workflow_id.split("/", 2)
    return project_id, key


class SlotRequest(BaseModel):
    """Input of `acquire`: a run asks for a slot (again, harmlessly, after a retry)."""

    execution_id: str
    limit: int
    priority: int = 0
    arrival: datetime  # when the run was created: equal priorities go first come
    reconcile_secs: float = 15.0


class SlotRelease(BaseModel):
    """Input of `release`: the run has closed, or withdraws while still queued."""

    execution_id: str


class SlotGrant(BaseModel):
    """Input of the run's `slot_granted` signal."""

    gate_id: str


class GateEntry(BaseModel):
    """Input of the `ferryman.gate.enter` activity."""

    gate_id: str
    request: SlotRequest


class Holders(BaseModel):
    """Input and output of `ferryman.gate.reconcile`: holders to check, holders closed."""

    execution_ids: list[str] = Field(default_factory=list)


class GateState(BaseModel):
    """Everything the gate knows; its input, carried across continue-as-new."""

    limit: int = 1
    reconcile_secs: float = 15.0
    holders: dict[str, datetime] = Field(default_factory=dict)  # run id -> granted at
    waiters: list[SlotRequest] = Field(default_factory=list)


@workflow.defn(name=GATE_WORKFLOW)
class ConcurrencyGate:
    @workflow.init
    def __init__(self, state: GateState) -> None:
        # Set before any signal handler runs: a signal-with-start's `acquire` needs it.
        self.state = state
        self.changes = 0  # bumped by every signal: the main loop wakes on it
        self.regrant: list[str] = []  # holders that asked again (a retried or redriven run)
        self.batched = False  # grants go out together (BATCH_PATCH)

    @workflow.run
    async def run(self, state: GateState) -> None:
        self.batched = workflow.patched(BATCH_PATCH)
        while True:
            await self._grant()
            self._measure()
            if self._idle():
                if not await self._changed(IDLE) and self._idle():
                    return
                continue
            if workflow.info().get_current_history_length() > HISTORY_LIMIT:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self.state)
            full = len(self.state.holders) >= self.state.limit
            if self.state.waiters and full:
                if not await self._changed(timedelta(seconds=self.state.reconcile_secs)):
                    await self._reconcile()
            else:
                await self._changed(None)

    def _measure(self) -> None:
        """Its queue and slots as metrics (replay-safe: nothing recorded on replay)."""
        state = self.state
        project_id, key = gate_of(workflow.info().workflow_id)
        metrics.gate_slots(project_id, key, len(state.waiters), len(state.holders), state.limit)

    def _idle(self) -> bool:
        return not self.state.holders and not self.state.waiters and not self.regrant

    async def _changed(self, within: timedelta | None) -> bool:
        """Wait for a signal (True), or for `within` to pass without one (False)."""
        seen = self.changes
        try:
            await workflow.wait_condition(lambda: self.changes != seen, timeout=within)
        except TimeoutError:
            return False
        return True

    async def _grant(self) -> None:
        """Grant every free slot. Since BATCH_PATCH the grants go out together, in one
        workflow task (one signal each, all awaited at once); gates from before told one
        run, waited for the signal's answer (a workflow task), then told the next."""
        if not self.batched:
            await self._grant_one_by_one()
            return
        while True:  # until nothing is left to grant: more may come while grants go out
            told, self.regrant = self.regrant, []
            while self.state.waiters and len(self.state.holders) < self.state.limit:
                told.append(self._next_holder())
            if not told:
                return
            await asyncio.gather(*(self._tell(execution_id) for execution_id in told))

    async def _grant_one_by_one(self) -> None:
        while self.regrant:
            await self._tell(self.regrant.pop(0))
        while self.state.waiters and len(self.state.holders) < self.state.limit:
            await self._tell(self._next_holder())

    def _next_holder(self) -> str:
        """The first waiter (priority, then arrival), now a holder."""
        first = min(self.state.waiters, key=lambda w: (-w.priority, w.arrival, w.execution_id))
        self.state.waiters.remove(first)
        self.state.holders[first.execution_id] = workflow.now()
        return first.execution_id

    async def _tell(self, execution_id: str) -> None:
        """Signal the run its slot; a run that has closed meanwhile frees it at once."""
        handle = workflow.get_external_workflow_handle(execution_id)
        try:
            await handle.signal(GRANT_SIGNAL, SlotGrant(gate_id=workflow.info().workflow_id))
        except Exception:  # the run is gone: closed, terminated or deleted
            self.state.holders.pop(execution_id, None)

    async def _reconcile(self) -> None:
        """Free the slots of holders that closed without a word (terminated from outside)."""
        closed = await workflow.execute_activity(
            RECONCILE_ACTIVITY,
            Holders(execution_ids=sorted(self.state.holders)),
            result_type=Holders,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
            summary="which slot holders have closed",
        )
        for execution_id in closed.execution_ids:
            self.state.holders.pop(execution_id, None)

    @workflow.signal
    def acquire(self, request: SlotRequest) -> None:
        self.state.limit = request.limit
        self.state.reconcile_secs = request.reconcile_secs
        self.changes += 1
        if request.execution_id in self.state.holders:
            self.regrant.append(request.execution_id)
            return
        self.state.waiters = [
            w for w in self.state.waiters if w.execution_id != request.execution_id
        ]
        self.state.waiters.append(request)

    @workflow.signal
    def release(self, release: SlotRelease) -> None:
        self.changes += 1
        self.state.holders.pop(release.execution_id, None)
        self.state.waiters = [
            w for w in self.state.waiters if w.execution_id != release.execution_id
        ]

    @workflow.query
    def slots(self) -> GateState:
        return self.state
