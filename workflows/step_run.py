"""One run of one step, as its kind sees it: the `StepRun` that `ExecutionWorkflow` hands over.

Kinds that run in the workflow begin (wait out a pause, mark the step running) and may wait
for an event; activity kinds run their activity here, one attempt at a time under the
step's retry policy, with a durable timer between attempts: every attempt is an event of
its own, the backoff is exact, and a pause holds between attempts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    FailureError,
    TimeoutType,
)
from temporalio.exceptions import TimeoutError as ActivityTimeoutError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from ferryman import metrics
    from ferryman import search_attributes as sa
    from ferryman.activities.registry import StepTask
    from ferryman.statuses import Status, StepStatus
    from ferryman.workflows import models as m
    from ferryman.workflows import runs
    from ferryman.workflows.children import (
        PLAN_ACTIVITY,
        START_ACTIVITY,
        ChildPlan,
        ChildRequest,
        DetachedStart,
    )
    from ferryman.workflows.errors import StepFailed
    from ferryman.workflows.snapshot import StepSnapshot
    from ferryman.workflows.steps.base import ParamsT, parse_params

T = TypeVar("T")
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
        self.activity_name: str | None = None  # the type of the last activity it ran
        self.details: dict[str, Any] = {}  # what the checkpoint carries beside the output
        # Its attempts (`activity`) run as local activities: in the workflow's own task,
        # with no task queue round trip (engine 2; `http` steps by default, see `local`).
        self.local = False

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

    @property
    def execution_id(self) -> str:
        assert self.execution.params is not None
        return self.execution.params.execution_id

    def note(self, **details: Any) -> None:
        self.details.update(details)

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
        assert self.execution.params is not None
        execution_id, step_id = self.execution.params.execution_id, self.step.id

        def task(attempt: int) -> StepTask:
            return StepTask(
                execution_id=execution_id, step_id=step_id, attempt=attempt, params=params
            )

        result, self.activity_id = await self._activity(name, task, None, None, self.local)
        return result

    async def call(
        self, name: str, arg: Callable[[int], Any], label: str, result_type: type[T] | None = None
    ) -> T:
        """One of several activities of this step (`label` tells them apart in its activity
        ids: `<step>.<label>#<attempt>`), under the step's retry policy; its result."""
        result, _ = await self._activity(name, arg, label, result_type, local=False)
        return cast(T, result)

    async def _activity(
        self,
        name: str,
        arg: Callable[[int], Any],
        label: str | None,
        result_type: type[Any] | None,
        local: bool,
    ) -> tuple[Any, str]:
        """Run activity `name` one attempt at a time; its result and the successful
        attempt's activity id. A retryable failure may say when to try again (an LLM
        provider's `Retry-After`): the retry waits at least that long."""
        execution, step = self.execution, self.step
        retry = execution.definition.retry_for(step)
        timeout = timedelta(seconds=execution.definition.timeout_for(step))
        heartbeat = execution.definition.heartbeat_for(step)
        what = f"{step.title} ({step.kind})" if label is None else f"{step.title}: {label}"

        async def attempt(number: int) -> tuple[Any, str]:
            activity_id = m.activity_id(step.id if label is None else f"{step.id}.{label}", number)
            self.activity_name = name
            summary = f"{what} attempt {number}/{retry.max_attempts}"
            try:
                if local:
                    result = await self._local(name, arg(number), activity_id, timeout, summary)
                else:
                    result = await workflow.execute_activity(
                        name,
                        arg(number),
                        activity_id=activity_id,
                        result_type=result_type,
                        start_to_close_timeout=timeout,
                        heartbeat_timeout=timedelta(seconds=heartbeat) if heartbeat else None,
                        retry_policy=RetryPolicy(maximum_attempts=1),
                        summary=summary,
                    )
            except FailureError as err:
                # A regular activity's failure wraps its cause; a local activity's is it.
                cause = (err.cause or err) if isinstance(err, ActivityError) else err
                failure = _classify(
                    step, cause, number, retry.max_attempts, execution.definition.dead_letter
                )
                raise failure or _Retry(_retry_after(cause)) from err
            return result, activity_id

        return cast(tuple[Any, str], await self._attempts(attempt))

    async def _local(
        self, name: str, arg: Any, activity_id: str, limit: timedelta, summary: str
    ) -> Any:
        """One attempt as a local activity: run by this worker within the workflow task,
        recorded as one marker when it ends. While one runs the run's books wait (the
        workflow task goes on when it ends), so a chain of short steps writes them once."""
        self.execution.local_steps += 1
        try:
            return await workflow.execute_local_activity(
                name,
                arg,
                activity_id=activity_id,
                start_to_close_timeout=limit,
                retry_policy=RetryPolicy(maximum_attempts=1),
                summary=summary,
            )
        finally:
            self.execution.local_steps -= 1

    async def child(
        self, job_id: str, version: int | None, input_data: dict[str, Any], detach: bool
    ) -> Any:
        execution, step = self.execution, self.step
        assert execution.params is not None
        parent = execution.params
        retry = execution.definition.retry_for(step)

        async def attempt(number: int) -> Any:
            now = workflow.now()
            request = ChildRequest(
                execution_id=runs.run_id(
                    int(now.timestamp() * 1000), workflow.random().getrandbits(80)
                ),
                project_id=parent.project_id,
                job_id=job_id,
                version=version,
                input=input_data,
                priority=parent.run.priority if parent.run else 0,
                debug_mode=execution.debug_mode,
                parent_run_id=parent.execution_id,
                workflow_step_run_id=f"{parent.execution_id}:{step.id}:{number}",
            )
            self.wait_on(run_id=request.execution_id)
            if detach:
                await self._coordinate(START_ACTIVITY, DetachedStart(request=request), None)
                return {"run_id": request.execution_id}
            plan = await self._coordinate(PLAN_ACTIVITY, request, ChildPlan)
            try:
                result = await start_child(plan, now)
            except ChildWorkflowError as err:
                failure = _classify_child(
                    step, err, number, retry.max_attempts, execution.definition.dead_letter
                )
                raise failure or _Retry() from err
            if result.status != Status.COMPLETED:  # the child was stopped: canceled
                raise self.fail(
                    f"child run {request.execution_id} ended {result.status}", "ChildCanceled"
                )
            return result.output

        return await self._attempts(attempt)

    async def _coordinate(self, name: str, arg: Any, result_type: type[Any] | None) -> Any:
        """A coordination activity; a refusal (unknown job, bad input) fails the step."""
        try:
            return await workflow.execute_activity(
                name,
                arg,
                result_type=result_type,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=5),
                summary=f"{self.step.title}: {name}",
            )
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, CancelledError):
                raise asyncio.CancelledError() from err
            raise self.fail(
                f"step {self.step.id!r}: {cause or err}",
                cause.type or "ChildRefused"
                if isinstance(cause, ApplicationError)
                else "ChildRefused",
            ) from err

    async def _attempts(self, attempt: Callable[[int], Awaitable[Any]]) -> Any:
        """Run `attempt(1)`, `attempt(2)`, ... under the step's retry policy: a durable timer
        between attempts (exact backoff, an event each, a pause holds between them)."""
        execution, step, state = self.execution, self.step, self.state
        retry = execution.definition.retry_for(step)
        for number in range(1, retry.max_attempts + 1):
            await execution.gate()
            state.status = StepStatus.RUNNING
            state.attempts = number
            state.next_retry_at = None
            state.started_at = state.started_at or workflow.now()
            execution.refresh_status()
            began = workflow.now()
            try:
                result = await attempt(number)
            except _Retry as retry_after:
                self._measure("failed", began)
                wait_at_least = retry_after.delay
            except StepFailed as failure:
                self._measure("failed", began, dead_letter=failure.status == Status.DEAD_LETTER)
                raise
            except asyncio.CancelledError:
                self._measure("canceled", began)
                raise
            else:
                self._measure("completed", began)
                if number > 1:
                    execution.books.attributes(
                        [sa.ATTEMPT.value_set(1), sa.NEXT_RETRY_AT.value_unset()]
                    )
                return result
            if number == retry.max_attempts:
                raise AssertionError("unreachable: the last attempt either returns or raises")
            delay = max(retry.delay_before(number + 1), wait_at_least or 0.0)
            state.status = StepStatus.WAITING
            state.next_retry_at = workflow.now() + timedelta(seconds=delay)
            # Visible to lists and to stuck detection without reading the history.
            execution.books.attributes(
                [
                    sa.ATTEMPT.value_set(number + 1),
                    sa.NEXT_RETRY_AT.value_set(state.next_retry_at),
                ]
            )
            execution.refresh_status()
            metrics.retry_scheduled(*self._labels)
            await workflow.sleep(
                timedelta(seconds=delay),
                summary=f"{step.title}: retry {number + 1}/{retry.max_attempts} in {delay}s",
            )
        raise AssertionError("unreachable: the last attempt either returns or raises")

    @property
    def _labels(self) -> tuple[str, str, str]:
        """Project, job and kind: what this step's metrics are labelled with."""
        params = self.execution.params
        assert params is not None
        return params.project_id, params.workflow_id, self.step.kind

    def _measure(self, outcome: str, began: datetime, dead_letter: bool = False) -> None:
        """An attempt ended (metric calls issue no command, and record nothing on replay)."""
        seconds = (workflow.now() - began).total_seconds()
        metrics.step_attempt(*self._labels, outcome, seconds)
        if dead_letter:
            metrics.dead_letter(*self._labels)


class _Retry(Exception):
    """An attempt failed in a way the next attempt may not; `delay`: not before (seconds)."""

    def __init__(self, delay: float | None = None) -> None:
        super().__init__()
        self.delay = delay


def _retry_after(cause: BaseException) -> float | None:
    """The delay a retryable failure asked for (`ApplicationError.next_retry_delay`)."""
    if isinstance(cause, ApplicationError) and cause.next_retry_delay is not None:
        return cause.next_retry_delay.total_seconds()
    return None


async def start_child(plan: ChildPlan, now: datetime) -> m.ExecutionResult:
    """Start the planned run as a child workflow and wait for its result. A parent that
    closes (or is stopped) asks its children to cancel."""
    params = plan.params
    start = runs.RunStart(
        triggered_by="spawn",
        status=runs.initial_status(params, now),
        created_at=now,
        record=plan.record,
    )
    result: m.ExecutionResult = await workflow.execute_child_workflow(
        params.workflow_id,
        params,
        id=params.execution_id,
        task_queue=workflow.info().task_queue,
        result_type=m.ExecutionResult,
        search_attributes=runs.search_attributes(params, start),
        memo=runs.start_memo(params, start),
        parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
        priority=runs.task_priority(params.run.priority if params.run else 0),
        static_summary=f"{params.workflow_name} v{params.version} ({params.workflow_id})",
    )
    return result


def _classify_child(
    step: StepSnapshot, err: ChildWorkflowError, attempt: int, max_attempts: int, dead_letter: bool
) -> StepFailed | None:
    """None when another attempt (a new child) may succeed; otherwise the step's failure.
    A child canceled on its own was meant to stop: the step fails at once."""
    cause = err.cause
    message = f"child run failed: {cause or err}"
    if isinstance(cause, CancelledError):
        return StepFailed(
            step.id, "child run was canceled", "ChildCanceled", Status.FAILED, attempt
        )
    error_type = cause.type if isinstance(cause, ApplicationError) and cause.type else "ChildFailed"
    if attempt < max_attempts:
        return None
    status = Status.DEAD_LETTER if dead_letter else Status.FAILED
    return StepFailed(step.id, message, error_type, status, attempt)


def _classify(
    step: StepSnapshot, cause: BaseException, attempt: int, max_attempts: int, dead_letter: bool
) -> StepFailed | None:
    """None when the attempt may be retried; otherwise the failure that ends the execution.

    The last attempt's outcome names the status: lost with its worker (heartbeat timeout):
    `crashed`; the step's activity registered on no worker that ran it (an engine fault,
    not the step's): `system_failed`; any other retryable error: `dead_letter` (parked for
    a redrive) unless the definition turns dead-lettering off (`failed`).
    """
    if isinstance(cause, CancelledError):
        raise asyncio.CancelledError()
    message = str(cause)
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
        error_type = type(cause).__name__
    if attempt < max_attempts:
        return None
    if isinstance(cause, ActivityTimeoutError) and cause.type == TimeoutType.HEARTBEAT:
        status = Status.CRASHED
    elif error_type == UNREGISTERED_ACTIVITY:
        status = Status.SYSTEM_FAILED
    else:
        status = Status.DEAD_LETTER if dead_letter else Status.FAILED
    return StepFailed(step.id, message, error_type, status, attempt)
