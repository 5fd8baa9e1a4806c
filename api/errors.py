"""Domain errors and the one place that turns every error into the JSON envelope.

Every error body is `{"error": "<one readable sentence>", "code": "<stable code>",
"request_id": "..."}` plus `details` for validation errors. Codes are listed in
`ferryman.api.codes`. Temporal's and the store's errors are mapped here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError, RPCStatusCode

from ferryman.api.codes import ErrorCode
from ferryman.api.store.errors import Conflict as StoreConflict
from ferryman.api.store.errors import NotFound as StoreNotFound
from ferryman.statuses import Status
from ferryman.validation import error_details, error_sentence
from ferryman.workflows.errors import DefinitionError

log = structlog.get_logger("ferryman.api")


class ErrorBody(BaseModel):
    """The body of every error answer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": "execution not found",
                    "code": ErrorCode.EXECUTION_NOT_FOUND,
                    "request_id": "5f1c0a9e2b7d4e3f8a6b1c2d3e4f5a6b",
                },
                {
                    "error": "workflow_id: String should have at least 1 character",
                    "code": ErrorCode.VALIDATION_ERROR,
                    "request_id": "a21b31fbc854446b8f2e72a2b1778425",
                    "details": [
                        {
                            "loc": ["body", "workflow_id"],
                            "msg": "String should have at least 1 character",
                            "type": "string_too_short",
                        }
                    ],
                },
            ]
        }
    )

    error: str = Field(examples=["execution not found"])
    code: ErrorCode = Field(examples=[ErrorCode.EXECUTION_NOT_FOUND])
    request_id: str = Field(examples=["5f1c0a9e2b7d4e3f8a6b1c2d3e4f5a6b"])
    details: Any = None


class ApiError(Exception):
    status_code: ClassVar[int] = 400

    def __init__(self, message: str, code: ErrorCode, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details


class BadRequest(ApiError):
    status_code = 400


class Unauthorized(ApiError):
    status_code = 401


class Forbidden(ApiError):
    status_code = 403


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    status_code = 409


class PayloadTooLarge(ApiError):
    status_code = 413


class InvalidInput(ApiError):
    status_code = 422


class InvalidState(ApiError):
    """An action the execution's current status refuses (409; 400 for stop, per seed 002).

    `template` names the status as `{status}`: each surface shows statuses in its own
    vocabulary, so the sentence is finished by the surface the request came through.
    """

    def __init__(
        self, template: str, status: Status, code: ErrorCode, status_code: int = 409
    ) -> None:
        super().__init__(template.format(status=status.value), code)
        self.template = template
        self.status = status
        self.status_code = status_code  # type: ignore[misc]

    def sentence(self, status_name: Callable[[Status], str]) -> str:
        return self.template.format(status=status_name(self.status))


class Unavailable(ApiError):
    status_code = 503


class GatewayTimeout(ApiError):
    status_code = 504


def execution_not_found() -> NotFound:
    return NotFound("execution not found", ErrorCode.EXECUTION_NOT_FOUND)


def schedule_not_found() -> NotFound:
    return NotFound("schedule not found", ErrorCode.SCHEDULE_NOT_FOUND)


def temporal_error(err: RPCError) -> ApiError:
    """Map a Temporal service error onto the API's vocabulary."""
    if err.status == RPCStatusCode.NOT_FOUND:
        return execution_not_found()
    if err.status == RPCStatusCode.ALREADY_EXISTS:
        return Conflict("an execution with this id already exists", ErrorCode.EXECUTION_EXISTS)
    if _too_large(err):
        return PayloadTooLarge(
            f"Temporal refused the request as too large ({err.message}): a run's definition "
            "and input must fit in 2 MB",
            ErrorCode.PAYLOAD_TOO_LARGE,
        )
    if err.status in (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.FAILED_PRECONDITION):
        return BadRequest(
            f"Temporal refused the request: {err.message}", ErrorCode.TEMPORAL_REJECTED
        )
    if err.status == RPCStatusCode.RESOURCE_EXHAUSTED:
        return Unavailable("Temporal is overloaded; retry shortly", ErrorCode.TEMPORAL_OVERLOADED)
    if err.status == RPCStatusCode.DEADLINE_EXCEEDED:
        return GatewayTimeout(
            "Temporal did not answer in time; retry shortly", ErrorCode.TEMPORAL_TIMEOUT
        )
    return Unavailable(f"Temporal is unavailable: {err.message}", ErrorCode.TEMPORAL_UNAVAILABLE)


def _too_large(err: RPCError) -> bool:
    """Temporal's refusals of a payload over its limits, for good: its blob limit (2 MB,
    INVALID_ARGUMENT "Blob data size exceeds limit") and gRPC's message limit (4 MB,
    RESOURCE_EXHAUSTED "received message ... larger than max", which comes without the
    ResourceExhaustedFailure detail of a real overload)."""
    message = err.message.lower()
    if err.status in (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.FAILED_PRECONDITION):
        return "size" in message and "limit" in message
    return err.status == RPCStatusCode.RESOURCE_EXHAUSTED and "larger than max" in message


def request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", ""))


def error_body(request_id: str, message: str, code: ErrorCode, details: Any = None) -> bytes:
    """The envelope as JSON bytes (also for middleware that answers before the app)."""
    body = ErrorBody(error=message, code=code, request_id=request_id, details=details)
    return body.model_dump_json(exclude_none=details is None).encode()


def envelope(
    request: Request, status: int, message: str, code: ErrorCode, details: Any = None
) -> JSONResponse:
    body = ErrorBody(error=message, code=code, request_id=request_id(request), details=details)
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=details is None), status_code=status
    )


def _definition_error(exc: DefinitionError) -> InvalidInput:
    return InvalidInput(
        str(exc), ErrorCode.DEFINITION_INVALID, [{"step": exc.step, "msg": str(exc)}]
    )


StatusNames = list[tuple[str, Callable[[Status], str]]]  # (path prefix, status name)


def add_exception_handlers(app: FastAPI, status_names: StatusNames) -> None:
    """Every error as the envelope; `status_names` says how each surface names statuses."""

    def status_name(request: Request) -> Callable[[Status], str]:
        path = request.url.path
        return next((name for prefix, name in status_names if path.startswith(prefix)), str)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        message = exc.message
        if isinstance(exc, InvalidState):
            message = exc.sentence(status_name(request))
        return envelope(request, exc.status_code, message, exc.code, exc.details)

    @app.exception_handler(StoreNotFound)
    async def _store_not_found(request: Request, exc: StoreNotFound) -> JSONResponse:
        return envelope(request, 404, str(exc), exc.code)

    @app.exception_handler(StoreConflict)
    async def _store_conflict(request: Request, exc: StoreConflict) -> JSONResponse:
        return envelope(request, 409, str(exc), exc.code)

    @app.exception_handler(DefinitionError)
    async def _definition(request: Request, exc: DefinitionError) -> JSONResponse:
        return await _api_error(request, _definition_error(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(error.get("type") == "json_invalid" for error in errors):
            return envelope(
                request, 400, "the request body is not valid JSON", ErrorCode.INVALID_JSON
            )
        return envelope(
            request,
            422,
            error_sentence(errors, drop="body", limit=1),
            ErrorCode.VALIDATION_ERROR,
            error_details(errors),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        code = ErrorCode.VALIDATION_ERROR
        if exc.status_code == 404:
            code = ErrorCode.ROUTE_NOT_FOUND
            if message == "Not Found":
                message = f"no such endpoint: {request.method} {request.url.path}"
        elif exc.status_code == 405:
            message = f"method {request.method} is not allowed on {request.url.path}"
            code = ErrorCode.METHOD_NOT_ALLOWED
        elif exc.status_code == 413:
            code = ErrorCode.BODY_TOO_LARGE
        return envelope(request, exc.status_code, message, code)

    @app.exception_handler(RPCError)
    async def _rpc(request: Request, exc: RPCError) -> JSONResponse:
        mapped = temporal_error(exc)
        log.warning("temporal error", status=exc.status.name, message=exc.message)
        return envelope(request, mapped.status_code, mapped.message, mapped.code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return envelope(
            request,
            500,
            "internal error; the request id identifies it in the logs",
            ErrorCode.INTERNAL_ERROR,
        )
