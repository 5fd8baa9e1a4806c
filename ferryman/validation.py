"""Pydantic validation errors as one readable sentence, and as a `details` list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError


def _errors(source: ValidationError | Sequence[Any]) -> list[Any]:
    return list(source.errors() if isinstance(source, ValidationError) else source)


def _message(error: Any) -> str:
    return str(error.get("msg", "invalid value")).removeprefix("Value error, ")


def error_sentence(source: ValidationError | Sequence[Any], prefix: str | None = None) -> str:
    """The first error as "where: message"; `prefix` names the root (e.g. `with`).

    A location part "body" (FastAPI's name for the request body) is dropped.
    """
    errors = _errors(source)
    if not errors:
        return "invalid value"
    first = errors[0]
    parts = [str(part) for part in first.get("loc", ()) if part != "body"]
    where = ".".join([prefix, *parts] if prefix and parts else parts)
    return f"{where}: {_message(first)}" if where else _message(first)


def error_details(source: ValidationError | Sequence[Any]) -> list[dict[str, Any]]:
    """Every error as `{loc, msg, type}`, for the `details` of a 422."""
    return [
        {"loc": list(error.get("loc", ())), "msg": _message(error), "type": error.get("type")}
        for error in _errors(source)
    ]
