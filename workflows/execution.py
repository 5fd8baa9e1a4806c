"""ExecutionWorkflow: one workflow type that interprets every definition.

It runs the ready steps of the DAG in parallel, renders their inputs from earlier outputs,
drives retries itself (one activity attempt per try, durable timers between them, so every
attempt is an event and a pause holds between attempts), records a checkpoint per step as a
memo delta (history keeps every delta; `describe()` returns the compact index), keeps the
canonical status in a search attribute, and obeys pause, resume, stop and step signals.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    TimeoutType,
)
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

with workflow.unsafe.imports_passed_through():
    from ferryman import search_attributes as sa
    from ferryman.activities.http import HTTP_ACTIVITY_NAME
    from ferryman.activities.registry import StepTask
    from ferryman.statuses import TERMINAL_STATUSES, Status
    from ferryman.workflows import models as m
    from ferryman.workflows.dsl import Step, WorkflowDefinition
    from ferryman.workflows.templating import TemplateError, render, truthy


class StepFailed(Exception):
    """A step that will not succeed; ends the execution as `status`."""

    def __init__(self, step: str, message: str, error_type: str, status: Status, attempts: int):
        super().__init__(message)
        self.step = step
        self.error_type = error_type
        self.status = status
        self.attempts = attempts


@workflow.defn(name="ExecutionWorkflow")
class ExecutionWorkflow:
    def __init__(self) -> None:
        self.paused = False
        self.stop_requested = False
        self.status = Status.QUEUED
        self.steps: dict[str, m.StepState] = {}
        self.outputs: dict[str, Any] = {}
        self.checkpoints: list[m.CheckpointRef] = []
        self.next_sequence = 0
        self.signals: dict[str, list[Any]] = {}
        self.finished: list[str] = []
        self.deltas: list[dict[str, Any]] = []
        self.rollback_to: int | None = None
        self.pending_memo: dict[str, Any] = {}
        self.params: m.ExecutionInput | None = None

    # ---- entry point ------------------------------------------------------------------

    @workflow.run
    async def run(self, params: m.ExecutionInput) -> m.ExecutionResult:
        self.params = params
        definition = params.definition
        self.steps = {s.id: m.StepState(step_id=s.id, kind=s.kind) for s in definition.steps}
        # Rides on the first checkpoint's memo upsert: one visibility write, not two.
        self.pending_memo[m.MEMO_STARTED_AT] = workflow.now().isoformat()
        if params.restored is None:
            self._checkpoint("start", {})
        else:
            self._restore(params.restored)
        self._refresh_status()
        running: dict[str, asyncio.Task[None]] = {}
        try:
            await self._run_graph(definition, running)
        except StepFailed as failure:
            await self._cancel_all(running)
            self._fail(failure)
        except asyncio.CancelledError:
            # A Temporal cancellation request (UI, CLI or the API's stop) is a stop.
            self.stop_requested = True
            await self._cancel_all(running)
            self._close(Status.CANCELED)
            raise
        if self.stop_requested:
            await self._cancel_all(running)
            self._close(Status.CANCELED)
            return m.ExecutionResult(status=Status.CANCELED)
        try:
            output = render(definition.output, self._context())
        except TemplateError as err:
            self._fail(StepFailed("output", str(err), "TemplateError", Status.FAILED, 1))
        self._close(Status.COMPLETED, output=output)
        return m.ExecutionResult(status=Status.COMPLETED, output=output)

    async def _run_graph(
        self, definition: WorkflowDefinition, running: dict[str, asyncio.Task[None]]
    ) -> None:
        while not self.stop_requested:
            await self._roll_back(running)
            if not self.paused:
                for step in self._ready(definition, running):
                    running[step.id] = asyncio.create_task(self._run_step(step))
            if not running and all(s.status in m.DONE for s in self.steps.values()):
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

    def _ready(
        self, definition: WorkflowDefinition, running: dict[str, asyncio.Task[None]]
    ) -> list[Step]:
        return [
            step
            for step in definition.steps
            if step.id not in running
            and self.steps[step.id].status == "pending"
            and all(self.steps[d].status in m.DONE for d in step.depends_on)
        ]

    def _can_launch(self, running: dict[str, asyncio.Task[None]]) -> bool:
        assert self.params is not None
        return not self.paused and bool(self._ready(self.params.definition, running))

    async def _cancel_all(self, running: dict[str, asyncio.Task[None]]) -> None:
        for task in running.values():
            task.cancel()
        if running:
            await asyncio.gather(*running.values(), return_exceptions=True)
        for state in self.steps.values():
            if state.status in ("running", "waiting"):
                state.status = "cancelled"

    # ---- one step ---------------------------------------------------------------------

    async def _run_step(self, step: Step) -> None:
        try:
            await self._step_body(step)
        except (StepFailed, asyncio.CancelledError):
            self._step_done(step.id)
            raise
        # Not in a `finally`: when the worker evicts this run from its cache the coroutine
        # gets GeneratorExit, outside the workflow's event loop, and must record nothing.
        self._step_done(step.id)

    def _step_done(self, step_id: str) -> None:
        self.finished.append(step_id)
        self._refresh_status()

    async def _step_body(self, step: Step) -> None:
        state = self.steps[step.id]
        if step.if_ is not None and not self._condition(step):
            state.status = "skipped"
            state.completed_at = workflow.now()
            self.outputs[step.id] = None
            self._checkpoint(step.id, {"status": "skipped"}, None)
            return
        try:
            output, activity_id = await self._execute(step, state)
            self._check_output_size(step, output)
        except StepFailed as failure:
            state.status = "failed"
            state.error = str(failure)
            state.error_type = failure.error_type
            state.completed_at = workflow.now()
            raise
        state.status = "completed"
        state.completed_at = workflow.now()
        self.outputs[step.id] = output
        delta = {"activity_id": activity_id} if activity_id else {"output": output}
        self._checkpoint(
            step.id,
            {
                "status": "completed",
                "attempts": state.attempts,
                "started_at": state.started_at.isoformat() if state.started_at else None,
                **delta,
            },
            output,
        )

    def _condition(self, step: Step) -> bool:
        expression = step.if_
        if isinstance(expression, bool):
            return expression
        assert expression is not None
        text = expression if "{{" in expression else "{{ " + expression + " }}"
        try:
            return truthy(render(text, self._context()))
        except TemplateError as err:
            raise StepFailed(step.id, str(err), "TemplateError", Status.FAILED, 0) from err

    async def _execute(self, step: Step, state: m.StepState) -> tuple[Any, str | None]:
        """Run the step's kind; returns its output and, for activities, the activity id."""
        params = self._render_params(step)
        if step.kind in ("activity", "http"):
            return await self._run_activity(step, state, params)
        await self._gate()
        state.status = "running"
        state.started_at = workflow.now()
        state.attempts = 1
        if step.kind == "transform":
            return params.get("value"), None
        if step.kind == "sleep":
            return await self._sleep(step, state, params), None
        return await self._wait_for_signal(step, state, params), None

    def _render_params(self, step: Step) -> dict[str, Any]:
        try:
            rendered = render(step.with_, self._context())
        except TemplateError as err:
            raise StepFailed(step.id, str(err), "TemplateError", Status.FAILED, 0) from err
        return rendered if isinstance(rendered, dict) else {}

    async def _sleep(self, step: Step, state: m.StepState, params: dict[str, Any]) -> Any:
        try:
            seconds = float(params["seconds"])
        except (TypeError, ValueError) as err:
            raise StepFailed(
                step.id,
                f"step {step.id!r}: `seconds` must be a number",
                "InvalidStep",
                Status.FAILED,
                1,
            ) from err
        state.status = "waiting"
        self._refresh_status()
        await workflow.sleep(timedelta(seconds=seconds), summary=f"{step.title}: sleep {seconds}s")
        return {"slept_secs": seconds}

    async def _wait_for_signal(self, step: Step, state: m.StepState, params: dict[str, Any]) -> Any:
        name = str(params["signal"])
        state.status = "waiting"
        self._refresh_status()
        timeout = step.timeout_secs
        try:
            await workflow.wait_condition(lambda: bool(self.signals.get(name)), timeout=timeout)
        except TimeoutError as err:
            raise StepFailed(
                step.id,
                f"step {step.id!r} got no {name!r} signal within {timeout}s",
                "WaitTimeout",
                Status.FAILED,
                1,
            ) from err
        return self.signals[name].pop(0)

    async def _run_activity(
        self, step: Step, state: m.StepState, params: dict[str, Any]
    ) -> tuple[Any, str]:
        assert self.params is not None
        definition = self.params.definition
        retry = definition.retry_for(step)
        name = HTTP_ACTIVITY_NAME if step.kind == "http" else str(step.activity)
        timeout = timedelta(seconds=definition.timeout_for(step))
        for attempt in range(1, retry.max_attempts + 1):
            await self._gate()
            state.status = "running"
            state.attempts = attempt
            state.next_retry_at = None
            state.started_at = state.started_at or workflow.now()
            self._refresh_status()
            activity_id = m.activity_id(step.id, attempt)
            task = StepTask(
                execution_id=self.params.execution_id,
                step_id=step.id,
                attempt=attempt,
                params=params,
            )
            try:
                result = await workflow.execute_activity(
                    name,
                    task,
                    activity_id=activity_id,
                    start_to_close_timeout=timeout,
                    heartbeat_timeout=(
                        timedelta(seconds=step.heartbeat_secs) if step.heartbeat_secs else None
                    ),
                    retry_policy=RetryPolicy(maximum_attempts=1),
                    summary=f"{step.title} ({step.kind}) attempt {attempt}/{retry.max_attempts}",
                )
                if attempt > 1:
                    workflow.upsert_search_attributes(
                        [sa.ATTEMPT.value_set(1), sa.NEXT_RETRY_AT.value_unset()]
                    )
                return result, activity_id
            except ActivityError as err:
                failure = _classify(step, err, attempt, retry.max_attempts)
                if failure is not None:
                    raise failure from err
            delay = retry.delay_before(attempt + 1)
            state.status = "waiting"
            state.next_retry_at = workflow.now() + timedelta(seconds=delay)
            # Visible to lists and to stuck detection without reading the history.
            workflow.upsert_search_attributes(
                [
                    sa.ATTEMPT.value_set(attempt + 1),
                    sa.NEXT_RETRY_AT.value_set(state.next_retry_at),
                ]
            )
            self._refresh_status()
            await workflow.sleep(
                timedelta(seconds=delay),
                summary=f"{step.title}: retry {attempt + 1}/{retry.max_attempts} in {delay}s",
            )
        raise AssertionError("unreachable: the last attempt either returns or raises")

    def _check_output_size(self, step: Step, output: Any) -> None:
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

    async def _gate(self) -> None:
        """Hold while paused; a stop ends the step here (no new step or attempt starts)."""
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

    def _checkpoint(self, step_id: str, delta: dict[str, Any], output: Any = None) -> None:
        now = workflow.now()
        ref = m.CheckpointRef(sequence=self.next_sequence, step_id=step_id, created_at=now)
        self.checkpoints.append(ref)
        self.next_sequence += 1
        if step_id in self.steps:
            # Kept in memory with the output inline: what a rollback folds back to.
            self.deltas.append(
                {
                    "sequence": ref.sequence,
                    "step_id": step_id,
                    "created_at": now.isoformat(),
                    **delta,
                    "output": output,
                }
            )
        index = [
            [c.sequence, c.step_id, int(c.created_at.timestamp() * 1000)] for c in self.checkpoints
        ]
        memo, self.pending_memo = self.pending_memo, {}
        workflow.upsert_memo(
            {
                **memo,
                m.MEMO_CHECKPOINTS: index,
                m.MEMO_CHECKPOINT: {
                    "sequence": ref.sequence,
                    "step_id": step_id,
                    "created_at": now.isoformat(),
                    **delta,
                },
            }
        )

    def _restore(self, restored: m.RestoredState) -> None:
        for delta in restored.deltas:
            self._apply(delta)
            self.checkpoints.append(
                m.CheckpointRef(
                    sequence=int(delta["sequence"]),
                    step_id=str(delta["step_id"]),
                    created_at=datetime.fromisoformat(delta["created_at"]),
                )
            )
        self.next_sequence = max(self.next_sequence, restored.next_sequence)
        self.paused = restored.paused
        self._checkpoint(
            restored.label,
            {
                "status": restored.label,
                "source_execution_id": restored.source_execution_id,
                "restored_through": restored.source_sequence,
            },
        )

    def _apply(self, delta: dict[str, Any]) -> None:
        """Fold one checkpoint delta (with its output inline) into the state."""
        step_id = str(delta.get("step_id"))
        self.deltas.append(delta)
        if step_id not in self.steps:
            return
        state = self.steps[step_id]
        state.status = "skipped" if delta.get("status") == "skipped" else "completed"
        state.attempts = int(delta.get("attempts") or 1)
        state.completed_at = datetime.fromisoformat(delta["created_at"])
        self.outputs[step_id] = delta.get("output")

    async def _roll_back(self, running: dict[str, asyncio.Task[None]]) -> None:
        """Back to checkpoint `sequence`: later state is discarded and the execution pauses."""
        sequence = self.rollback_to
        self.rollback_to = None
        if sequence is None:
            return
        await self._cancel_all(running)
        running.clear()
        self.finished.clear()
        kept = [d for d in self.deltas if int(d["sequence"]) <= sequence]
        self.deltas = []
        self.outputs = {}
        for step_id, state in list(self.steps.items()):
            self.steps[step_id] = m.StepState(step_id=step_id, kind=state.kind)
        for delta in kept:
            self._apply(delta)
        self.checkpoints = [c for c in self.checkpoints if c.sequence <= sequence]
        self.paused = True
        self._checkpoint("rollback", {"status": "rollback", "rollback_to": sequence})
        self._refresh_status()

    def _refresh_status(self) -> None:
        if self.status in TERMINAL_STATUSES:
            return
        statuses = {state.status for state in self.steps.values()}
        if self.paused:
            status = Status.PAUSED
        elif "running" in statuses or "waiting" not in statuses:
            status = Status.EXECUTING
        else:
            status = Status.WAITING
        self._set_status(status)
        running = sorted(
            s.step_id for s in self.steps.values() if s.status in ("running", "waiting")
        )
        workflow.set_current_details(
            f"{status.value}: {', '.join(running)}" if running else status.value
        )

    def _set_status(self, status: Status) -> None:
        if status != self.status:
            self.status = status
            workflow.upsert_search_attributes([sa.STATUS.value_set(status.value)])

    def _close(self, status: Status, output: Any = None) -> None:
        self._set_status(status)
        memo: dict[str, Any] = {m.MEMO_COMPLETED_AT: workflow.now().isoformat()}
        if status == Status.COMPLETED:
            memo[m.MEMO_OUTPUT] = m.summary(output)
        workflow.upsert_memo(memo)

    def _fail(self, failure: StepFailed) -> NoReturn:
        self._set_status(failure.status)
        cause = f"step {failure.step!r} failed"
        if failure.attempts > 1:
            cause += f" after {failure.attempts} attempts"
        cause += f": {failure}"
        workflow.upsert_memo(
            {
                m.MEMO_COMPLETED_AT: workflow.now().isoformat(),
                m.MEMO_ERROR: {
                    "error": failure.status.value,
                    "error_cause": cause,
                    "step_id": failure.step,
                    "error_type": failure.error_type,
                    "attempts": failure.attempts,
                },
            }
        )
        raise ApplicationError(
            cause,
            {"step_id": failure.step, "attempts": failure.attempts, "status": failure.status},
            type=failure.error_type,
            non_retryable=True,
        )

    # ---- signals and queries ----------------------------------------------------------

    @workflow.signal
    def pause(self, request: m.ControlRequest) -> None:
        self.paused = True
        self._refresh_status()

    @workflow.signal
    def resume(self, request: m.ControlRequest) -> None:
        self.paused = False
        self._refresh_status()

    @workflow.signal
    def stop(self, request: m.ControlRequest) -> None:
        self.stop_requested = True

    @workflow.signal
    def rollback(self, request: m.RollbackRequest) -> None:
        if any(c.sequence == request.sequence for c in self.checkpoints):
            self.rollback_to = request.sequence

    @workflow.signal(name="signal")
    def deliver(self, signal: m.StepSignal) -> None:
        self.signals.setdefault(signal.name, []).append(signal.payload)

    @workflow.query
    def state(self) -> m.ExecutionState:
        return m.ExecutionState(
            status=self.status.value,
            paused=self.paused,
            stop_requested=self.stop_requested,
            steps=self.steps,
            outputs=self.outputs,
            checkpoints=self.checkpoints,
            buffered_signals={name: len(items) for name, items in self.signals.items() if items},
        )


def _classify(step: Step, err: ActivityError, attempt: int, max_attempts: int) -> StepFailed | None:
    """None when the attempt may be retried; otherwise the failure that ends the execution."""
    cause = err.cause
    if isinstance(cause, CancelledError):
        raise asyncio.CancelledError()
    message = str(cause) if cause is not None else str(err)
    if isinstance(cause, ApplicationError):
        error_type = cause.type or "ApplicationError"
        if cause.non_retryable:
            return StepFailed(step.id, message, error_type, Status.FAILED, attempt)
    elif isinstance(cause, ActivityTimeoutError):
        error_type = "Timeout"
        message = (
            f"attempt timed out ({TimeoutType(cause.type).name.lower()})" if cause.type else message
        )
    else:
        error_type = type(cause).__name__ if cause is not None else "ActivityError"
    if attempt < max_attempts:
        return None
    crashed = isinstance(cause, ActivityTimeoutError) and cause.type == TimeoutType.HEARTBEAT
    return StepFailed(
        step.id, message, error_type, Status.CRASHED if crashed else Status.DEAD_LETTER, attempt
    )
