"""Domain errors and the one place that turns every error into the JSON envelope.

Every error body is `{"error": "<one readable sentence>", "request_id": "..."}` plus
`details` for validation errors. Temporal's errors are mapped here and nowhere else.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError, RPCStatusCode

from ferryman.api.store.errors import Conflict as StoreConflict
from ferryman.api.store.errors import NotFound as StoreNotFound
from ferryman.workflows.dsl import DefinitionError

log = structlog.get_logger("ferryman.api")


class ApiError(Exception):
    status_code = 400

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
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


class InvalidInput(ApiError):
    status_code = 422


class PayloadTooLarge(ApiError):
    status_code = 413


class Unavailable(ApiError):
    status_code = 503


class GatewayTimeout(ApiError):
    status_code = 504


def request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", ""))


def envelope(request: Request, status: int, message: str, details: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message, "request_id": request_id(request)}
    if details is not None:
        body["details"] = details
    return JSONResponse(body, status_code=status)


def temporal_error(err: RPCError) -> ApiError:
    """Map a Temporal service error onto the API's vocabulary."""
    if err.status == RPCStatusCode.NOT_FOUND:
        return NotFound("execution not found")
    if err.status == RPCStatusCode.ALREADY_EXISTS:
        return Conflict("an execution with this id already exists")
    if err.status in (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.FAILED_PRECONDITION):
        if "size" in err.message.lower() and "limit" in err.message.lower():
            return PayloadTooLarge(f"Temporal refused the payload as too large: {err.message}")
        return BadRequest(f"Temporal refused the request: {err.message}")
    if err.status == RPCStatusCode.RESOURCE_EXHAUSTED:
        return Unavailable("Temporal is overloaded; retry shortly")
    if err.status == RPCStatusCode.DEADLINE_EXCEEDED:
        return GatewayTimeout("Temporal did not answer in time; retry shortly")
    return Unavailable(f"Temporal is unavailable: {err.message}")


def _validation_message(errors: list[dict[str, Any]]) -> str:
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def validation_details(errors: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "loc": list(error.get("loc", ())),
            "msg": str(error.get("msg", "")).removeprefix("Value error, "),
            "type": error.get("type"),
        }
        for error in errors
    ]


def add_exception_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return envelope(request, exc.status_code, exc.message, exc.details)

    @app.exception_handler(StoreNotFound)
    async def _store_not_found(request: Request, exc: StoreNotFound) -> JSONResponse:
        return envelope(request, 404, str(exc))

    @app.exception_handler(StoreConflict)
    async def _store_conflict(request: Request, exc: StoreConflict) -> JSONResponse:
        return envelope(request, 409, str(exc))

    @app.exception_handler(DefinitionError)
    async def _definition(request: Request, exc: DefinitionError) -> JSONResponse:
        return envelope(request, 422, str(exc), [{"step": exc.step, "msg": str(exc)}])

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(error.get("type") == "json_invalid" for error in errors):
            return envelope(request, 400, "the request body is not valid JSON")
        return envelope(request, 422, _validation_message(errors), validation_details(errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}"
        elif exc.status_code == 405:
            message = f"method {request.method} is not allowed on {request.url.path}"
        return envelope(request, exc.status_code, message)

    @app.exception_handler(RPCError)
    async def _rpc(request: Request, exc: RPCError) -> JSONResponse:
        mapped = temporal_error(exc)
        log.warning("temporal error", status=exc.status.name, message=exc.message)
        return envelope(request, mapped.status_code, mapped.message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return envelope(request, 500, "internal error; the request id identifies it in the logs")
