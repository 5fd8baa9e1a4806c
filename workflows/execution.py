"""The workflow that interprets every definition, registered under two types.

`NamedExecutionWorkflow` (dynamic) runs every execution under its definition's id as the
workflow type; `ExecutionWorkflow` is the one type all executions had before, kept so those
still running finish. Both are `ExecutionInterpreter`.

It runs the ready steps of the DAG in parallel, renders their inputs from earlier outputs,
and hands each to its kind (`ferryman.workflows.steps`) through a `StepRunner`
(`ferryman.workflows.step_run`: gating, activity attempts and retries, waits). A checkpoint
per step goes into the checkpoint log and the memo (`ferryman.workflows.memo`); the
canonical status is kept in a search attribute; pause, resume, stop, rollback and step
signals are obeyed.

Longer than the other modules on purpose: the interpreter's state and every signal, query
and update handler that touches it must live on one workflow class. What can live elsewhere
does: the kinds, a step's run (`step_run`), admission (`admission`), the checkpoint log
(`checkpoints`), the memo layout (`memo`), child runs (`children`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.contrib.workflow_streams import WorkflowStream
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from ferryman import metrics
    from ferryman import search_attributes as sa
    from ferryman.statuses import DONE_STEP_STATUSES, TERMINAL_STATUSES, Status, StepStatus
    from ferryman.workflows import controls as c
    from ferryman.workflows import memo, steps
    from ferryman.workflows import models as m
    from ferryman.workflows.admission import Admission
    from ferryman.workflows.bookkeeping import Bookkeeping
    from ferryman.workflows.checkpoints import (
        ROLLBACK,
        START,
        Checkpoint,
        CheckpointLog,
        marker,
        step_delta,
    )
    from ferryman.workflows.errors import RunExpired, StepFailed
    from ferryman.workflows.gate import GRANT_SIGNAL, SlotGrant
    from ferryman.workflows.snapshot import DefinitionSnapshot, StepSnapshot
    from ferryman.workflows.step_run import StepRunner
    from ferryman.workflows.templating import TemplateError, render, truthy

Running = dict[str, asyncio.Task[None]]
# Recorded when an in-workflow step starts waiting (memo `waiting_on`); executions that
# began before it replay without it.
WAITING_ON_PATCH = "waiting-on-marker"
# Runs started since report `dequeued` between a worker's pickup and their first step.
DEQUEUED_PATCH = "dequeued-status"
# Runs started since count the model usage of a failed `llm` step in the run's total.
FAILED_USAGE_PATCH = "failed-step-usage"
# Runs started since: coalesced bookkeeping (`ferryman.workflows.bookkeeping`), short steps
# as local activities (`step_run`), and the three patches above without their markers.
ENGINE_PATCH = "engine-2"


class ExecutionInterpreter:
    """The interpreter both workflow types share (see the two classes at the end)."""

    def __init__(self) -> None:
        self.paused = False
        self.stop_requested = False
        self.status = Status.QUEUED
        self.steps: dict[str, m.StepState] = {}
        self.outputs: dict[str, Any] = {}
        self.log = CheckpointLog()
        self.signals: dict[str, list[Any]] = {}
        self.finished: list[str] = []
        self.rollback_to: int | None = None
        self.rollbacks_done = 0  # rollbacks applied: a rollback update waits for its own
        self.pending_memo: dict[str, Any] = {}
        self.books = Bookkeeping()  # the memo and attribute writes, coalesced since engine 2
        self.engine = 1  # 2 for runs started since ENGINE_PATCH
        self.local_steps = 0  # step attempts running as local activities now
        self._keeper: asyncio.Task[None] | None = None  # writes the books (engine 2)
        self.params: m.ExecutionInput | None = None
        # In-workflow steps waiting on a timer or an event: step id -> what on (the memo's
        # `waiting_on`, so one describe tells what the execution waits for).
        self.waiting_on: dict[str, dict[str, Any]] = {}
        self.debug_mode = False
        self.trace: dict[str, float] = {}
        self.started_any = False  # has any step of this run begun
        self.shows_dequeued = False  # set once per run: `dequeued` exists for it
        self.admission = Admission(self)  # schedule, dependencies, slot: before any step
        self.usage: dict[str, int] = {}  # model usage and cost of the llm steps
        self.failed_usage_counted = False  # a failed llm step's usage is in `usage`
        # Streamed LLM deltas reach outside observers through this (batched signals in,
        # long-poll updates out: `GET /v1/runs/{id}/stream/chunks`). Only handlers: runs that
        # never stream issue no command for it.
        self.stream = WorkflowStream()

    @property
    def definition(self) -> DefinitionSnapshot:
        assert self.params is not None
        return self.params.definition

    # ---- entry point ------------------------------------------------------------------

    async def interpret(self, params: m.ExecutionInput) -> m.ExecutionResult:
        own_id = workflow.info().workflow_id
        if params.execution_id != own_id:
            # A cron schedule's action names one id; each run it starts gets that id with
            # its firing time appended, and that is the run's id everywhere.
            params = params.model_copy(update={"execution_id": own_id})
        self.params = params
        self.debug_mode = params.debug_mode
        if workflow.patched(ENGINE_PATCH):
            self.engine = 2
            self.books.start()
            self._keeper = asyncio.create_task(self._keep_books())
        self.shows_dequeued = self._since(DEQUEUED_PATCH)
        self.steps = {s.id: m.StepState(step_id=s.id, kind=s.kind) for s in self.definition.steps}
        if params.restored is None or params.restored.label == "replay":
            self._trace_queue_wait()
        # A new run with admission settings starts (and says so) once admitted; runs from
        # before those existed record their start first, as their histories say.
        starts_after_admission = params.restored is None and params.run is not None
        if params.restored is not None:
            self._start(self._restore, params.restored)
        elif not starts_after_admission:
            self._start(self._record_start)
        self.refresh_status()
        running: Running = {}
        try:
            await self.admission.admit(params)
            if starts_after_admission and not self.stop_requested:
                self._start(self._record_start)
            await self._run_graph(running)
        except RunExpired as expired:
            await self._closed(self._expire(expired))
        except StepFailed as failure:
            await self._cancel_all(running)
            await self._closed(self._fail(failure))
        except asyncio.CancelledError:
            # A Temporal cancellation request (UI, CLI or the API's stop) is a stop.
            self.stop_requested = True
            await self._cancel_all(running)
            self._close(Status.CANCELED)
            await self.admission.release()
            raise
        await self._cancel_all(running)
        if self.stop_requested:
            self._close(Status.CANCELED)
            await self.admission.release()
            return m.ExecutionResult(status=Status.CANCELED)
        try:
            output = render(self.definition.output, self._context())
        except TemplateError as err:
            broken = StepFailed("output", str(err), "TemplateError", Status.FAILED, 1)
            await self._closed(self._fail(broken))
        self._close(Status.COMPLETED, output=output)
        await self.admission.release()
        return m.ExecutionResult(status=Status.COMPLETED, output=output)

    def _since(self, patch: str) -> bool:
        """Whether this run has the behaviour `patch` introduced: every run of engine 2
        has, without a marker of its own; older runs as their histories say."""
        return self.engine >= 2 or workflow.patched(patch)

    async def _keep_books(self) -> None:
        """Write what the run noted once it has nothing more to do in its workflow task:
        all of it quiet, and no step attempt running as a local activity (the workflow task
        goes on when one ends, so a chain of short steps is written once, with its close).

        Conditions are checked when every coroutine waits; what woke with this one (the
        interpreter, about to start the next step) runs first, hence the second round."""
        while True:
            await workflow.wait_condition(lambda: self.books.pending and not self.local_steps)
            await workflow.wait_condition(lambda: True)
            if not self.local_steps:
                self.books.flush()

    async def _closed(self, error: ApplicationError) -> NoReturn:
        """End the run with `error`, its close already recorded. A concurrency slot is
        given back only now, so no run is seen to start before this one is seen closed."""
        await self.admission.release()
        raise error

    async def _run_graph(self, running: Running) -> None:
        while not self.stop_requested:
            await self._roll_back(running)
            if not self.paused:
                for step in self._ready(running):
                    running[step.id] = asyncio.create_task(self._run_step(step))
            if not running and all(s.status in DONE_STEP_STATUSES for s in self.steps.values()):
                return
            await workflow.wait_condition(
                lambda: (
                    bool(self.finished)
                    or self.stop_requested
                    or self.rollback_to is not None
                    or self._can_launch(running)
                )
            )
            if self.rollback_to is not None:
                continue
            finished, self.finished = self.finished, []
            for step_id in finished:
                task = running.pop(step_id)
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]  # StepFailed ends the run

    def _ready(self, running: Running) -> list[StepSnapshot]:
        return [
            step
            for step in self.definition.steps
            if step.id not in running
            and self.steps[step.id].status == StepStatus.PENDING
            and all(self.steps[d].status in DONE_STEP_STATUSES for d in step.depends_on)
        ]

    def _can_launch(self, running: Running) -> bool:
        return not self.paused and bool(self._ready(running))

    async def _cancel_all(self, running: Running) -> None:
        for task in running.values():
            task.cancel()
        if running:
            await asyncio.gather(*running.values(), return_exceptions=True)
        for state in self.steps.values():
            if state.status in (StepStatus.RUNNING, StepStatus.WAITING):
                state.status = StepStatus.CANCELED

    # ---- one step ---------------------------------------------------------------------

    async def _run_step(self, step: StepSnapshot) -> None:
        try:
            await self._step_body(step)
        except (StepFailed, asyncio.CancelledError) as ended:
            self._step_done(step.id, ended)
            raise
        # Not in a `finally`: when the worker evicts this run from its cache the coroutine
        # gets GeneratorExit, outside the workflow's event loop, and must record nothing.
        self._step_done(step.id)

    def _step_done(self, step_id: str, ended: BaseException | None = None) -> None:
        self.finished.append(step_id)
        self.refresh_status()
        self._measure_step(self.steps[step_id], ended)

    async def _step_body(self, step: StepSnapshot) -> None:
        state = self.steps[step.id]
        self.started_any = True
        if step.if_ is not None and not self._condition(step):
            state.status = StepStatus.SKIPPED
            state.completed_at = workflow.now()
            self.outputs[step.id] = None
            self._record(self._step_checkpoint(step.id, StepStatus.SKIPPED))
            return
        run = StepRunner(self, step, state, self._render_params(step))
        kind = steps.KINDS.get(step.kind)
        try:
            if kind is None:
                raise run.fail(f"step {step.id!r} has unknown kind {step.kind!r}", "UnknownKind")
            run.local = self.engine >= 2 and bool(
                kind.local_by_default if step.local is None else step.local
            )
            output = await kind.run(run)
            self._check_output_size(step, output)
        except StepFailed as failure:
            state.status = StepStatus.FAILED
            state.error = str(failure)
            state.error_type = failure.error_type
            state.completed_at = workflow.now()
            self._count_failed_usage(run.details.get("usage"))
            raise
        state.status = StepStatus.COMPLETED
        state.completed_at = workflow.now()
        self.outputs[step.id] = output
        self._trace_step(kind.timing(output) if kind is not None else {})
        self._count_usage(run.details.get("usage"))
        checkpoint = self._step_checkpoint(
            step.id,
            StepStatus.COMPLETED,
            run.activity_id,
            output,
            debug_input=run.params if self.debug_mode else None,
            details=run.details,
            activity=run.activity_name,
        )
        self._record(checkpoint)

    def _condition(self, step: StepSnapshot) -> bool:
        expression = step.if_
        if isinstance(expression, bool):
            return expression
        assert expression is not None
        text = expression if "{{" in expression else "{{ " + expression + " }}"
        try:
            return truthy(render(text, self._context()))
        except TemplateError as err:
            raise StepFailed(step.id, str(err), "TemplateError", Status.FAILED, 0) from err

    def _render_params(self, step: StepSnapshot) -> dict[str, Any]:
        try:
            rendered = render(step.with_, self._context())
        except TemplateError as err:
            raise StepFailed(step.id, str(err), "TemplateError", Status.FAILED, 0) from err
        return rendered if isinstance(rendered, dict) else {}

    def _check_output_size(self, step: StepSnapshot, output: Any) -> None:
        assert self.params is not None
        size = len(json.dumps(output, default=str))
        if size > self.params.step_output_limit_bytes:
            raise StepFailed(
                step.id,
                f"step {step.id!r} produced {size} bytes of output, over the limit of "
                f"{self.params.step_output_limit_bytes}",
                "OutputTooLarge",
                Status.FAILED,
                self.steps[step.id].attempts,
            )

    async def gate(self) -> None:
        """Hold while paused; a stop ends the step here (no new step or attempt starts).

        Since engine 2 a run that is not paused passes at once: a wait, even on what already
        holds, ends only at the workflow's next quiet moment, after its books were written,
        which would then be written twice in the task."""
        if self.engine >= 2 and not self.paused and not self.stop_requested:
            return
        await workflow.wait_condition(lambda: not self.paused or self.stop_requested)
        if self.stop_requested:
            raise asyncio.CancelledError()

    # ---- state, checkpoints, status ---------------------------------------------------

    def _context(self) -> dict[str, Any]:
        assert self.params is not None
        return {
            "input": self.params.input,
            "metadata": self.params.metadata,
            "execution": {
                "id": self.params.execution_id,
                "workflow_id": self.params.workflow_id,
                "attempt": 1,
            },
            "steps": {
                step_id: {"output": output, "status": self.steps[step_id].status}
                for step_id, output in self.outputs.items()
            },
        }

    def _step_checkpoint(
        self,
        step_id: str,
        status: StepStatus,
        activity_id: str | None = None,
        output: Any = None,
        debug_input: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
        activity: str | None = None,
    ) -> Checkpoint:
        state = self.steps[step_id]
        return step_delta(
            self.log.next_sequence,
            step_id,
            workflow.now(),
            status=status,
            attempts=state.attempts,
            started_at=state.started_at,
            activity_id=activity_id,
            activity=activity,
            output=output,
            debug_input=debug_input,
            details=details,
        )

    def _trace_queue_wait(self) -> None:
        """From creation to this first workflow task (rides the first memo upsert)."""
        created = workflow.memo_value(memo.Key.CREATED_AT, default=None, type_hint=str)
        # A cron run's memo has no creation time (one schedule action serves every firing):
        # it was created when it started.
        since = datetime.fromisoformat(created) if created else workflow.info().start_time
        waited = workflow.now() - since
        self.trace["queue_wait_ms"] = round(waited.total_seconds() * 1000, 3)
        self.pending_memo.update(memo.traced(self.trace))

    def _trace_step(self, timing: dict[str, float]) -> None:
        """A step's network timings, summed into the run's (rides its checkpoint upsert)."""
        if not timing:
            return
        for name, value in timing.items():
            self.trace[name] = round(self.trace.get(name, 0.0) + value, 3)
        self.pending_memo.update(memo.traced(self.trace))

    def _count_usage(self, usage: dict[str, int] | None) -> None:
        """An llm step's tokens and cost, summed into the run's (rides its checkpoint)."""
        if not usage:
            return
        for name, value in usage.items():
            self.usage[name] = self.usage.get(name, 0) + value
        self.pending_memo.update(memo.used(self.usage))

    def _count_failed_usage(self, usage: dict[str, int] | None) -> None:
        """A failed llm step's tokens were spent too: into the run's total, which `_fail`
        writes with the failure (patched: runs from before never counted them)."""
        if usage and usage.get("calls") and self._since(FAILED_USAGE_PATCH):
            self._count_usage(usage)
            self.failed_usage_counted = True

    def _record(self, checkpoint: Checkpoint) -> None:
        """Into the log, and its delta into the memo with the index of what is in force,
        the step's output summary, and the removal of those a rollback discards."""
        before = {c.step_id for c in self.log.steps(self.steps)}
        self.log.record(checkpoint)
        if self.waiting_on.pop(checkpoint.step_id, None) is not None:
            # The step waits no more: said in the same upsert, no extra visibility write.
            self.pending_memo.update(memo.waiting(self.waiting_on))
        index = [memo.IndexEntry(c.sequence, c.step_id, c.created_at) for c in self.log.in_force]
        outputs = memo.without_steps(before - {c.step_id for c in self.log.steps(self.steps)})
        step = self.steps.get(checkpoint.step_id)
        if step is not None and checkpoint.is_step:
            assert self.params is not None
            limit = self.params.memo_summary_limit_bytes
            outputs[memo.step_key(step.step_id)] = memo.step_entry(checkpoint, step.kind, limit)
        pending, self.pending_memo = self.pending_memo, {}
        if self.books.coalesce:
            # Several checkpoints may be written in one go: each delta, in order.
            self.books.append(memo.Key.CHECKPOINT_DELTAS, dict(checkpoint.delta))
            self.books.memo({**pending, **memo.indexed(index), **outputs})
        else:
            self.books.memo(
                {**pending, **memo.checkpointed(index, dict(checkpoint.delta)), **outputs}
            )

    def wait_on(self, step_id: str, detail: dict[str, Any]) -> None:
        """A step now waits on a timer or an event: recorded in the memo (history keeps it,
        so readers see the step start), for executions started since the marker exists."""
        if self._since(WAITING_ON_PATCH):
            self.waiting_on[step_id] = detail
            self.books.memo(memo.waiting(self.waiting_on))

    def _start(self, record: Callable[..., None], *args: Any) -> None:
        """Record the run's first checkpoint; `started_at` rides on its memo upsert (one
        visibility write, not two)."""
        self.pending_memo.update(memo.started(workflow.now()))
        record(*args)

    def _record_start(self) -> None:
        self._record(marker(self.log.next_sequence, START, workflow.now()))

    def _restore(self, restored: m.RestoredState) -> None:
        self.log.restore(restored.deltas, restored.next_sequence)
        self._apply_log()
        self.paused = restored.paused
        self._record(
            marker(
                self.log.next_sequence,
                restored.label,
                workflow.now(),
                source_execution_id=restored.source_execution_id,
                restored_through=restored.source_sequence,
            )
        )

    def _apply_log(self) -> None:
        """Step states and outputs as the checkpoints in force say (after a restore or a
        rollback); steps without a checkpoint are pending."""
        self.outputs = {}
        for step_id, state in list(self.steps.items()):
            self.steps[step_id] = m.StepState(step_id=step_id, kind=state.kind)
        for checkpoint in self.log.steps(self.steps):
            state = self.steps[checkpoint.step_id]
            state.status = checkpoint.step_status
            state.attempts = checkpoint.attempts or 1
            state.completed_at = checkpoint.created_at
            self.outputs[checkpoint.step_id] = checkpoint.output

    async def _roll_back(self, running: Running) -> None:
        """Back to checkpoint `sequence`: later state is discarded and the execution pauses."""
        sequence = self.rollback_to
        self.rollback_to = None
        if sequence is None:
            return
        await self._cancel_all(running)
        running.clear()
        self.finished.clear()
        self.paused = True
        self._record(marker(self.log.next_sequence, ROLLBACK, workflow.now(), rollback_to=sequence))
        self._apply_log()
        self.refresh_status()
        self.rollbacks_done += 1

    def refresh_status(self) -> None:
        if self.status in TERMINAL_STATUSES:
            return
        statuses = {state.status for state in self.steps.values()}
        if self.paused:
            status = Status.PAUSED
        elif self.admission.status is not None:
            status = self.admission.status  # delayed, waiting on other jobs, or queued
        elif self.shows_dequeued and not self.started_any:
            status = Status.DEQUEUED  # picked up by a worker; no step has begun yet
        elif StepStatus.RUNNING in statuses or StepStatus.WAITING not in statuses:
            status = Status.EXECUTING
        else:
            status = Status.WAITING
        self._set_status(status)
        active = sorted(
            s.step_id
            for s in self.steps.values()
            if s.status in (StepStatus.RUNNING, StepStatus.WAITING)
        )
        workflow.set_current_details(
            f"{status.value}: {', '.join(active)}" if active else status.value
        )

    def _set_status(self, status: Status) -> None:
        if status in TERMINAL_STATUSES:
            # Chunk subscribers long-polling this run get what is there and stop polling;
            # after the close, a query drains the rest.
            self.stream.detach_pollers()
            if status != self.status:
                self._measure_close(status)
        if status != self.status:
            self.status = status
            self.books.attributes([sa.STATUS.value_set(status.value)])

    def _close(self, status: Status, output: Any = None) -> None:
        self._set_status(status)
        now = workflow.now()
        assert self.params is not None
        limit = self.params.memo_summary_limit_bytes
        self.books.memo(
            memo.completed(now, output, limit) if status == Status.COMPLETED else memo.closed(now)
        )
        self.books.flush()  # the close writes what is pending with its own

    def _expire(self, expired: RunExpired) -> ApplicationError:
        """Record the expiry; the error that ends the run."""
        self._set_status(Status.EXPIRED)
        error = memo.ErrorRecord(
            status=Status.EXPIRED.value, cause=str(expired), error_type="Expired"
        )
        self.books.memo(memo.failed(workflow.now(), error))
        self.books.flush()
        return ApplicationError(
            str(expired), {"status": Status.EXPIRED}, type="Expired", non_retryable=True
        )

    def _fail(self, failure: StepFailed) -> ApplicationError:
        """Record the failure; the error that ends the run."""
        self._set_status(failure.status)
        cause = f"step {failure.step!r} failed"
        if failure.attempts > 1:
            cause += f" after {failure.attempts} attempts"
        cause += f": {failure}"
        error = memo.ErrorRecord(
            status=failure.status.value,
            cause=cause,
            step_id=failure.step,
            error_type=failure.error_type,
            attempts=failure.attempts,
        )
        failed = memo.failed(workflow.now(), error)
        if self.failed_usage_counted:
            failed |= memo.used(self.usage)
        self.books.memo(failed)
        self.books.flush()
        return ApplicationError(
            cause,
            {"step_id": failure.step, "attempts": failure.attempts, "status": failure.status},
            type=failure.error_type,
            non_retryable=True,
        )

    # ---- metrics (ferryman.metrics: no command, nothing recorded on replay) -------------

    def _measure_step(self, state: m.StepState, ended: BaseException | None) -> None:
        """A step ended: completed or skipped, failed (`StepFailed`), or canceled."""
        assert self.params is not None
        status = (
            state.status
            if ended is None
            else StepStatus.FAILED
            if isinstance(ended, StepFailed)
            else StepStatus.CANCELED
        )
        metrics.step_finished(
            self.params.project_id, self.params.workflow_id, state.kind, str(status)
        )

    def _measure_close(self, status: Status) -> None:
        assert self.params is not None
        metrics.run_finished(self.params.project_id, self.params.workflow_id, status.value)

    # ---- controls ---------------------------------------------------------------------
    #
    # Each control is an update (validated here, answered with the state after it) and,
    # under the same name, the signal it was before: runs' histories hold those signals,
    # and an operator may still send one from the Temporal UI or CLI. Both apply the same
    # change; only the update refuses what the run's state does not allow.

    def _apply_pause(self) -> None:
        self.paused = True
        self.refresh_status()

    def _apply_resume(self) -> None:
        self.paused = False
        self.refresh_status()

    def _apply_debug(self, enabled: bool) -> None:
        if enabled != self.debug_mode:
            self.debug_mode = enabled
            self.books.memo(memo.debugging(enabled))

    def _outcome(self) -> c.ControlOutcome:
        """A control's answer. What it changed is written now, in the workflow task that
        answers it, even while a local activity holds the task open: the caller's next
        read sees it."""
        self.books.flush()
        return c.ControlOutcome(status=self.status.value, paused=self.paused)

    def _check_open(self, deadline: datetime | None) -> None:
        """Every validator's first two refusals: a caller that gave up, a closed run."""
        if deadline is not None and workflow.now() > deadline:
            raise c.refuse(c.Refusal.LATE, self.status)
        if self.status in TERMINAL_STATUSES or self.stop_requested:
            status = self.status if self.status in TERMINAL_STATUSES else Status.CANCELED
            raise c.refuse(c.Refusal.CLOSED, status)

    @workflow.update(name="pause")
    def pause(self, request: c.ControlRequest) -> c.ControlOutcome:
        """Hold between steps and between attempts (steps already running finish)."""
        self._apply_pause()
        return self._outcome()

    @pause.validator
    def _validate_pause(self, request: c.ControlRequest) -> None:
        self._check_open(request.deadline)
        if self.paused:
            raise c.refuse(c.Refusal.PAUSED, self.status)

    @workflow.update(name="resume")
    def resume(self, request: c.ControlRequest) -> c.ControlOutcome:
        self._apply_resume()
        return self._outcome()

    @resume.validator
    def _validate_resume(self, request: c.ControlRequest) -> None:
        self._check_open(request.deadline)
        if not self.paused:
            raise c.refuse(c.Refusal.NOT_PAUSED, self.status)

    @workflow.update(name="rollback")
    async def rollback(self, request: c.RollbackRequest) -> c.ControlOutcome:
        """Back to a checkpoint, paused there: answered once the interpreter has done it."""
        self.rollback_to = request.sequence
        done = self.rollbacks_done
        await workflow.wait_condition(
            lambda: self.rollbacks_done > done or self.status in TERMINAL_STATUSES
        )
        return self._outcome()

    @rollback.validator
    def _validate_rollback(self, request: c.RollbackRequest) -> None:
        self._check_open(request.deadline)
        if self.admission.status is not None:
            raise c.refuse(c.Refusal.NOT_STARTED, self.status)
        if request.sequence not in self.log:
            raise c.refuse(c.Refusal.UNKNOWN_CHECKPOINT, self.status)

    @workflow.update(name="debug")
    def debug(self, request: c.DebugRequest) -> c.ControlOutcome:
        """Events carry each later step's rendered input and its output, or stop doing so."""
        self._apply_debug(request.enabled)
        return self._outcome()

    @debug.validator
    def _validate_debug(self, request: c.DebugRequest) -> None:
        self._check_open(request.deadline)

    @workflow.update(name="reschedule")
    def reschedule(self, request: c.RescheduleRequest) -> c.ControlOutcome:
        """A delayed run's new start time."""
        self.admission.reschedule(request.scheduled_at)
        return self._outcome()

    @reschedule.validator
    def _validate_reschedule(self, request: c.RescheduleRequest) -> None:
        self._check_open(request.deadline)
        if not self.admission.delayed:
            raise c.refuse(c.Refusal.NOT_DELAYED, self.status)

    @workflow.update(name="event")
    def event(self, event: c.StepSignal) -> c.ControlOutcome:
        """An event for a `wait` step, buffered until the step takes it."""
        self.buffer(event.name, event.payload)
        return self._outcome()

    @event.validator
    def _validate_event(self, event: c.StepSignal) -> None:
        self._check_event(event.name, event.deadline)

    def _check_event(self, name: str, deadline: datetime | None) -> None:
        self._check_open(deadline)
        # Before the first activation's run method began there is no definition to ask;
        # the API has checked the name against the run's memo.
        if self.params is not None and name not in self.definition.wait_signals():
            raise c.refuse(c.Refusal.UNKNOWN_EVENT, self.status)

    @workflow.signal(name="pause")
    def pause_signal(self, request: c.ControlRequest) -> None:
        self._apply_pause()

    @workflow.signal(name="resume")
    def resume_signal(self, request: c.ControlRequest) -> None:
        self._apply_resume()

    @workflow.signal(name="stop")
    def stop_signal(self, request: c.ControlRequest) -> None:
        self.stop_requested = True

    @workflow.signal(name="rollback")
    def rollback_signal(self, request: c.RollbackRequest) -> None:
        if request.sequence in self.log:
            self.rollback_to = request.sequence

    @workflow.signal(name="debug")
    def debug_signal(self, request: c.DebugRequest) -> None:
        self._apply_debug(request.enabled)

    @workflow.signal(name="reschedule")
    def reschedule_signal(self, request: c.RescheduleRequest) -> None:
        """Too late once the run has left `delayed`."""
        if self.admission.delayed:
            self.admission.reschedule(request.scheduled_at)

    @workflow.signal(name="signal")
    def deliver(self, signal: c.StepSignal) -> None:
        """An event for a `wait` step, as executions of `ExecutionWorkflow` received them."""
        self.buffer(signal.name, signal.payload)

    @workflow.signal(name=GRANT_SIGNAL)
    def slot_granted(self, grant: SlotGrant) -> None:
        """The concurrency gate has given this run a slot (a signal: the gate, a workflow,
        cannot wait on an update)."""
        self.admission.granted = True

    def buffer(self, name: str, payload: Any) -> None:
        self.signals.setdefault(name, []).append(payload)

    # ---- queries ----------------------------------------------------------------------

    @workflow.query
    def state(self) -> m.ExecutionState:
        return m.ExecutionState(
            status=self.status.value,
            paused=self.paused,
            stop_requested=self.stop_requested,
            steps=self.steps,
            outputs=self.outputs,
            checkpoints=[
                m.CheckpointRef(sequence=c.sequence, step_id=c.step_id, created_at=c.created_at)
                for c in self.log.in_force
            ],
            buffered_signals={name: len(items) for name, items in self.signals.items() if items},
        )


@workflow.defn(name="ExecutionWorkflow")
class ExecutionWorkflow(ExecutionInterpreter):
    """Executions started before each ran under its own workflow's name keep this type.

    It stays registered (and unchanged) so they finish; the API starts none of it any more.
    """

    @workflow.run
    async def run(self, params: m.ExecutionInput) -> m.ExecutionResult:
        return await self.interpret(params)


@workflow.defn(dynamic=True)
class NamedExecutionWorkflow(ExecutionInterpreter):
    """Every execution: its workflow type is its definition's id (`welcome-email`), so the
    Temporal UI and CLI list user workflows by name. Events for `wait` steps arrive as
    signals of their own name (`approve`), so the UI's timeline names them too."""

    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> m.ExecutionResult:
        params = workflow.payload_converter().from_payload(args[0].payload, m.ExecutionInput)
        return await self.interpret(params)

    @workflow.signal(dynamic=True)
    def user_signal(self, name: str, args: Sequence[RawValue]) -> None:
        converter = workflow.payload_converter()
        self.buffer(name, converter.from_payload(args[0].payload) if args else None)

    @workflow.update(dynamic=True)
    def user_event(self, name: str, args: Sequence[RawValue]) -> c.ControlOutcome:
        """An event for a `wait` step as an update of its own name (the UI names it)."""
        self.buffer(name, _event(args).payload)
        return self._outcome()

    @user_event.validator
    def _validate_user_event(self, name: str, args: Sequence[RawValue]) -> None:
        self._check_event(name, _event(args).deadline)


def _event(args: Sequence[RawValue]) -> c.StepSignal:
    if not args:
        return c.StepSignal()
    return workflow.payload_converter().from_payload(args[0].payload, c.StepSignal)
