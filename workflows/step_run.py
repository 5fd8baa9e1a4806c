"""One run of one step, as its kind sees it: the `StepRun` that `ExecutionWorkflow` hands over.

Kinds that run in the workflow begin (wait out a pause, mark the step running) and may wait
for an event; activity kinds run their activity here, one attempt at a time under the
step's retry policy, with a durable timer between attempts: every attempt is an event of
its own, the backoff is exact, and a pause holds between attempts.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, TimeoutType
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

with workflow.unsafe.imports_passed_through():
    from ferryman import search_attributes as sa
    from ferryman.activities.registry import StepTask
    from ferryman.statuses import Status, StepStatus
    from ferryman.workflows import models as m
    from ferryman.workflows.errors import StepFailed
    from ferryman.workflows.snapshot import StepSnapshot
    from ferryman.workflows.steps.base import ParamsT, parse_params

# What the SDK raises on a worker that lacks the activity a step names.
UNREGISTERED_ACTIVITY = "NotFoundError"

if TYPE_CHECKING:
    from ferryman.workflows.execution import ExecutionInterpreter


class StepRunner:
    """One run of one step: what its kind may ask of the execution (`steps.StepRun`)."""

    def __init__(
        self,
        execution: ExecutionInterpreter,
        step: StepSnapshot,
        state: m.StepState,
        params: dict[str, Any],
    ) -> None:
        self.execution = execution
        self.step = step
        self.state = state
        self.params = params
        self.activity_id: str | None = None  # the attempt whose result is the output

    def parse(self, model: type[ParamsT]) -> ParamsT:
        try:
            return parse_params(self.step.id, model, self.params)
        except ValueError as err:
            raise self.fail(str(err), "InvalidStepParams") from err

    async def begin(self) -> None:
        await self.execution.gate()
        self.state.status = StepStatus.RUNNING
        self.state.started_at = workflow.now()
        self.state.attempts = 1

    def wait_on(self, **detail: Any) -> None:
        self.state.status = StepStatus.WAITING
        self.execution.refresh_status()
        since = self.state.started_at or workflow.now()
        self.execution.wait_on(
            self.step.id, {"kind": self.step.kind, "since": since.isoformat(), **detail}
        )

    def fail(self, message: str, error_type: str) -> StepFailed:
        return StepFailed(
            self.step.id, message, error_type, Status.FAILED, self.state.attempts or 1
        )

    async def signal(self, name: str, timeout_secs: float | None) -> Any:
        signals = self.execution.signals
        try:
            await workflow.wait_condition(
                lambda: bool(signals.get(name)),
                timeout=timeout_secs,
                timeout_summary=f"{self.step.title}: wait for {name} ({timeout_secs}s)",
            )
        except TimeoutError as err:
            raise self.fail(
                f"step {self.step.id!r} got no {name!r} signal within {timeout_secs}s",
                "WaitTimeout",
            ) from err
        return signals[name].pop(0)

    async def activity(self, name: str, params: dict[str, Any]) -> Any:
        execution, step, state = self.execution, self.step, self.state
        assert execution.params is not None
        retry = execution.definition.retry_for(step)
        timeout = timedelta(seconds=execution.definition.timeout_for(step))
        heartbeat = execution.definition.heartbeat_for(step)
        for attempt in range(1, retry.max_attempts + 1):
            await execution.gate()
            state.status = StepStatus.RUNNING
            state.attempts = attempt
            state.next_retry_at = None
            state.started_at = state.started_at or workflow.now()
            execution.refresh_status()
            activity_id = m.activity_id(step.id, attempt)
            task = StepTask(
                execution_id=execution.params.execution_id,
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
                    heartbeat_timeout=timedelta(seconds=heartbeat) if heartbeat else None,
                    retry_policy=RetryPolicy(maximum_attempts=1),
                    summary=f"{step.title} ({step.kind}) attempt {attempt}/{retry.max_attempts}",
                )
                if attempt > 1:
                    workflow.upsert_search_attributes(
                        [sa.ATTEMPT.value_set(1), sa.NEXT_RETRY_AT.value_unset()]
                    )
                self.activity_id = activity_id
                return result
            except ActivityError as err:
                failure = _classify(
                    step, err, attempt, retry.max_attempts, execution.definition.dead_letter
                )
                if failure is not None:
                    raise failure from err
            delay = retry.delay_before(attempt + 1)
            state.status = StepStatus.WAITING
            state.next_retry_at = workflow.now() + timedelta(seconds=delay)
            # Visible to lists and to stuck detection without reading the history.
            workflow.upsert_search_attributes(
                [
                    sa.ATTEMPT.value_set(attempt + 1),
                    sa.NEXT_RETRY_AT.value_set(state.next_retry_at),
                ]
            )
            execution.refresh_status()
            await workflow.sleep(
                timedelta(seconds=delay),
                summary=f"{step.title}: retry {attempt + 1}/{retry.max_attempts} in {delay}s",
            )
        raise AssertionError("unreachable: the last attempt either returns or raises")


def _classify(
    step: StepSnapshot, err: ActivityError, attempt: int, max_attempts: int, dead_letter: bool
) -> StepFailed | None:
    """None when the attempt may be retried; otherwise the failure that ends the execution.

    The last attempt's outcome names the status: lost with its worker (heartbeat timeout):
    `crashed`; the step's activity registered on no worker that ran it (an engine fault,
    not the step's): `system_failed`; any other retryable error: `dead_letter` (parked for
    a redrive) unless the definition turns dead-lettering off (`failed`).
    """
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
    if isinstance(cause, ActivityTimeoutError) and cause.type == TimeoutType.HEARTBEAT:
        status = Status.CRASHED
    elif error_type == UNREGISTERED_ACTIVITY:
        status = Status.SYSTEM_FAILED
    else:
        status = Status.DEAD_LETTER if dead_letter else Status.FAILED
    return StepFailed(step.id, message, error_type, status, attempt)
