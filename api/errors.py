"""The API's errors as the domain raises them: a sentence and a stable code, no HTTP.

Codes are listed in `ferryman.api.codes`; each has one HTTP status, which
`ferryman.api.envelope` (the only module here that knows HTTP) answers with. Temporal's
errors are mapped here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio.service import RPCError, RPCStatusCode

from ferryman.api.codes import ErrorCode
from ferryman.statuses import Status, phrase


class ApiError(Exception):
    """An error the API answers with: a sentence and a code. The HTTP status is the code's
    (`ferryman.api.envelope.HTTP_STATUS`): the domain that raises it knows nothing of HTTP."""

    def __init__(self, message: str, code: ErrorCode, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details


class InvalidState(ApiError):
    """An action the execution's current status refuses.

    `template` holds the status as `{status}`, which the surface the request came through
    turns into a phrase of its own vocabulary (`the run is in the dead letter queue`).
    """

    def __init__(self, template: str, status: Status, code: ErrorCode) -> None:
        super().__init__(template.format(status=phrase(status)), code)
        self.template = template
        self.status = status

    def sentence(self, status_phrase: Callable[[Status], str]) -> str:
        return self.template.format(status=status_phrase(self.status))


def execution_not_found() -> ApiError:
    return ApiError("execution not found", ErrorCode.EXECUTION_NOT_FOUND)


def schedule_not_found() -> ApiError:
    return ApiError("schedule not found", ErrorCode.SCHEDULE_NOT_FOUND)


def checkpoint_not_found() -> ApiError:
    return ApiError("checkpoint not found", ErrorCode.CHECKPOINT_NOT_FOUND)


def temporal_error(err: RPCError) -> ApiError:
    """Map a Temporal service error onto the API's vocabulary."""
    if err.status == RPCStatusCode.NOT_FOUND:
        return execution_not_found()
    if err.status == RPCStatusCode.ALREADY_EXISTS:
        return ApiError("an execution with this id already exists", ErrorCode.EXECUTION_EXISTS)
    if _too_large(err):
        return ApiError(
            f"Temporal refused the request as too large ({err.message}): a run's definition "
            "and input must fit in 2 MB",
            ErrorCode.PAYLOAD_TOO_LARGE,
        )
    if err.status in (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.FAILED_PRECONDITION):
        return ApiError(f"Temporal refused the request: {err.message}", ErrorCode.TEMPORAL_REJECTED)
    if err.status == RPCStatusCode.RESOURCE_EXHAUSTED:
        return ApiError("Temporal is overloaded; retry shortly", ErrorCode.TEMPORAL_OVERLOADED)
    if err.status == RPCStatusCode.DEADLINE_EXCEEDED:
        return ApiError(
            "Temporal did not answer in time; retry shortly", ErrorCode.TEMPORAL_TIMEOUT
        )
    return ApiError(f"Temporal is unavailable: {err.message}", ErrorCode.TEMPORAL_UNAVAILABLE)


def _too_large(err: RPCError) -> bool:
    """Temporal's refusals of a payload over its limits, for good: its blob limit (2 MB,
    INVALID_ARGUMENT "Blob data size exceeds limit") and gRPC's message limit (4 MB,
    RESOURCE_EXHAUSTED "received message ... larger than max", which comes without the
    ResourceExhaustedFailure detail of a real overload)."""
    message = err.message.lower()
    if err.status in (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.FAILED_PRECONDITION):
        return "size" in message and "limit" in message
    return err.status == RPCStatusCode.RESOURCE_EXHAUSTED and "larger than max" in message
