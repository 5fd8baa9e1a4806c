"""The error envelope, and the one place that turns every error into an HTTP answer.

Every error body is `{"error": "<one readable sentence>", "code": "<stable code>",
"request_id": "..."}` plus `details` for validation errors; each code has one HTTP status
(`HTTP_STATUS`, the same as the README's error table).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError

from ferryman.api.codes import ErrorCode
from ferryman.api.errors import ApiError, InvalidState, temporal_error
from ferryman.api.store.errors import StoreError
from ferryman.statuses import Status, phrase
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


E = ErrorCode
# The one HTTP status of each code (the README's error table shows the same).
HTTP_STATUS: dict[ErrorCode, int] = {
    **dict.fromkeys(
        [E.INVALID_JSON, E.INVALID_YAML, E.EXECUTION_FINISHED, E.TEMPORAL_REJECTED], 400
    ),
    E.INVALID_API_KEY: 401,
    **dict.fromkeys([E.INSUFFICIENT_SCOPE, E.PROJECT_MISMATCH, E.CSRF_TOKEN_INVALID], 403),
    **dict.fromkeys(
        [
            E.ROUTE_NOT_FOUND,
            E.EXECUTION_NOT_FOUND,
            E.CHECKPOINT_NOT_FOUND,
            E.WORKFLOW_NOT_FOUND,
            E.WORKFLOW_VERSION_NOT_FOUND,
            E.WAIT_STEP_NOT_FOUND,
            E.KEY_NOT_FOUND,
            E.SCHEDULE_NOT_FOUND,
        ],
        404,
    ),
    E.METHOD_NOT_ALLOWED: 405,
    **dict.fromkeys(
        [
            E.EXECUTION_CLOSED,
            E.EXECUTION_PAUSED,
            E.EXECUTION_NOT_PAUSED,
            E.EXECUTION_NOT_STARTED,
            E.EXECUTION_CHANGED,
            E.RUN_NOT_DEAD_LETTERED,
            E.RUN_NOT_DELAYED,
            E.RUN_NOT_FINISHED,
            E.EXECUTION_EXISTS,
            E.WORKFLOW_EXISTS,
            E.WORKFLOW_DISABLED,
            E.IDEMPOTENCY_KEY_REUSED,
            E.DEPENDENCY_EXISTS,
        ],
        409,
    ),
    **dict.fromkeys(
        [E.BODY_TOO_LARGE, E.INPUT_TOO_LARGE, E.PAYLOAD_TOO_LARGE, E.DEFINITION_TOO_LARGE], 413
    ),
    **dict.fromkeys(
        [
            E.VALIDATION_ERROR,
            E.DEFINITION_INVALID,
            E.INPUT_INVALID,
            E.INVALID_CURSOR,
            E.INVALID_FILTER,
            E.RUNS_NOT_REPLAYABLE,
            E.PAGE_TOO_DEEP,
            E.DEPENDENCY_CYCLE,
        ],
        422,
    ),
    E.INTERNAL_ERROR: 500,
    **dict.fromkeys([E.TEMPORAL_UNAVAILABLE, E.TEMPORAL_OVERLOADED, E.WORKER_UNAVAILABLE], 503),
    E.TEMPORAL_TIMEOUT: 504,
}


def http_status(code: ErrorCode) -> int:
    return HTTP_STATUS[code]


def request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", ""))


def error_body(request_id: str, message: str, code: ErrorCode, details: Any = None) -> bytes:
    """The envelope as JSON bytes (also for middleware that answers before the app)."""
    body = ErrorBody(error=message, code=code, request_id=request_id, details=details)
    return body.model_dump_json(exclude_none=details is None).encode()


def envelope(request: Request, message: str, code: ErrorCode, details: Any = None) -> JSONResponse:
    body = ErrorBody(error=message, code=code, request_id=request_id(request), details=details)
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=details is None), status_code=HTTP_STATUS[code]
    )


def _definition_error(exc: DefinitionError) -> ApiError:
    return ApiError(str(exc), ErrorCode.DEFINITION_INVALID, [{"step": exc.step, "msg": str(exc)}])


# What Starlette's own refusals mean in our vocabulary (FastAPI answers 400 for a body it
# cannot parse at all, e.g. one nested deeper than the parser goes).
_STARLETTE_CODES = {
    400: ErrorCode.INVALID_JSON,
    404: ErrorCode.ROUTE_NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.BODY_TOO_LARGE,
}

StatusPhrases = list[tuple[str, Callable[[Status], str]]]  # (path prefix, status phrase)


def add_exception_handlers(app: FastAPI, status_phrases: StatusPhrases) -> None:
    """Every error as the envelope; `status_phrases` says how each surface names statuses."""

    def status_phrase(request: Request) -> Callable[[Status], str]:
        path = request.url.path
        return next((name for prefix, name in status_phrases if path.startswith(prefix)), phrase)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        message = exc.message
        if isinstance(exc, InvalidState):
            message = exc.sentence(status_phrase(request))
        return envelope(request, message, exc.code, exc.details)

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError) -> JSONResponse:
        return envelope(request, str(exc), exc.code)

    @app.exception_handler(DefinitionError)
    async def _definition(request: Request, exc: DefinitionError) -> JSONResponse:
        return await _api_error(request, _definition_error(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(error.get("type") == "json_invalid" for error in errors):
            return envelope(request, "the request body is not valid JSON", ErrorCode.INVALID_JSON)
        return envelope(
            request,
            error_sentence(errors, drop="body", limit=1),
            ErrorCode.VALIDATION_ERROR,
            error_details(errors),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        code = _STARLETTE_CODES.get(exc.status_code, ErrorCode.VALIDATION_ERROR)
        if code == ErrorCode.ROUTE_NOT_FOUND and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}"
        elif code == ErrorCode.METHOD_NOT_ALLOWED:
            message = f"method {request.method} is not allowed on {request.url.path}"
        elif code == ErrorCode.INVALID_JSON:
            message = f"the request body cannot be read: {message}"
        return envelope(request, message, code)

    @app.exception_handler(RPCError)
    async def _rpc(request: Request, exc: RPCError) -> JSONResponse:
        mapped = temporal_error(exc)
        log.warning("temporal error", status=exc.status.name, message=exc.message)
        return envelope(request, mapped.message, mapped.code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return envelope(
            request,
            "internal error; the request id identifies it in the logs",
            ErrorCode.INTERNAL_ERROR,
        )
