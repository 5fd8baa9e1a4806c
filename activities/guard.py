"""What every step activity gets from the worker, built in and user-written alike.

An activity interceptor (Temporal's own extension point, so no activity has to remember):

- **Secrets never leave the activity.** The values it resolved are redacted from its
  result, its error (message and details; the original exception is not passed on, since
  Temporal would record it as the cause), its heartbeat details and the log lines it emits.
- **A lost worker is noticed in seconds.** When the step has a heartbeat timeout, the
  activity heartbeats on its own while it runs (re-sending the activity's own last details),
  so a killed worker's attempt times out after that timeout, not after start-to-close.
- **An expected step failure is one log line** (step, attempt, error class, message), not a
  traceback: failures go to Temporal as BENIGN application errors, which the SDK logs at
  DEBUG, and this module logs the line. So does an attempt abandoned because its run closed
  or its heartbeat timed out. Tracebacks are left for bugs in ferryman itself.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory, CancelledError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ActivityOutboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from ferryman.activities.registry import StepTask
from ferryman.activities.secrets import CURRENT, Redactor

log = structlog.get_logger("ferryman.step")
MIN_HEARTBEAT_SECS = 0.5


class StepGuard(Interceptor):
    """Register on the worker (`interceptors=[StepGuard()]`)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next)


class _Outbound(ActivityOutboundInterceptor):
    def __init__(self, next: ActivityOutboundInterceptor) -> None:
        super().__init__(next)
        self.last_details: tuple[Any, ...] = ()

    def heartbeat(self, *details: Any) -> None:
        redactor = CURRENT.get()
        self.last_details = tuple(redactor.redact(list(details))) if redactor else details
        super().heartbeat(*self.last_details)


class _Inbound(ActivityInboundInterceptor):
    def init(self, outbound: ActivityOutboundInterceptor) -> None:
        self.outbound = _Outbound(outbound)
        super().init(self.outbound)

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        redactor = Redactor()
        token = CURRENT.set(redactor)
        keep_alive = _keep_alive(self.outbound, activity.info().heartbeat_timeout)
        try:
            return redactor.redact(await super().execute_activity(input))
        except (asyncio.CancelledError, CancelledError):
            abandoned = _abandoned()
            if abandoned is None:
                raise
            raise abandoned from None
        except Exception as err:  # every step failure, redacted and logged once
            raise _step_failure(err, redactor, input) from None
        finally:
            if keep_alive is not None:
                keep_alive.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keep_alive
            CURRENT.reset(token)


def _keep_alive(outbound: _Outbound, timeout: timedelta | None) -> asyncio.Task[None] | None:
    if not timeout:
        return None
    every = max(timeout.total_seconds() / 3, MIN_HEARTBEAT_SECS)

    async def beat() -> None:
        while True:
            await asyncio.sleep(every)
            outbound.heartbeat(*outbound.last_details)

    return asyncio.create_task(beat())


def _abandoned() -> ApplicationError | None:
    """An attempt cancelled because nobody waits for it any more (its run closed, or its
    heartbeat timed out): an expected end, one log line, BENIGN (Temporal would log the
    cancellation as a failure with a traceback). None for a requested cancellation, which
    Temporal records as cancelled, and for the rest, which it handles itself."""
    details = activity.cancellation_details()
    if details is None or not (details.not_found or details.timed_out):
        return None
    reason = "its run is closed" if details.not_found else "its heartbeat timed out"
    info = activity.info()
    log.info(
        "step attempt abandoned",
        execution_id=info.workflow_id,
        activity_id=info.activity_id,
        attempt=info.attempt,
        activity=info.activity_type,
        reason=reason,
    )
    return ApplicationError(
        f"abandoned: {reason}", type="Abandoned", category=ApplicationErrorCategory.BENIGN
    )


def _step_failure(
    err: Exception, redactor: Redactor, input: ExecuteActivityInput
) -> ApplicationError:
    """The error Temporal records: redacted, without the original as its cause, BENIGN."""
    if isinstance(err, ApplicationError):
        error_type = err.type or "ApplicationError"
        failure = ApplicationError(
            redactor.text(err.message),
            *redactor.redact(list(err.details)),
            type=error_type,
            non_retryable=err.non_retryable,
            next_retry_delay=err.next_retry_delay,
            category=ApplicationErrorCategory.BENIGN,
        )
    else:
        error_type = type(err).__name__
        failure = ApplicationError(
            redactor.text(str(err)) or error_type,
            type=error_type,
            category=ApplicationErrorCategory.BENIGN,
        )
    info = activity.info()
    task = input.args[0] if input.args and isinstance(input.args[0], StepTask) else None
    log.warning(
        "step attempt failed",
        execution_id=info.workflow_id,
        step=task.step_id if task else info.activity_id,
        attempt=task.attempt if task else info.attempt,
        activity=info.activity_type,
        error_class=error_type,
        retryable=not failure.non_retryable,
        error=failure.message,
    )
    return failure


__all__ = ["StepGuard"]
