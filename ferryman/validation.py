"""Pydantic validation errors as people read them: one sentence, or a `details` list.

Every surface that refuses input (the API, the CLI, step activities) words a refusal the same
way: "where: message", the location dotted, without pydantic's "Value error, " prefix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator, SchemaError
from pydantic import ValidationError

Errors = ValidationError | Sequence[Mapping[str, Any]]
VALUE_ERROR_PREFIX = "Value error, "  # what pydantic puts before a validator's ValueError


def error_sentence(
    errors: Errors,
    *,
    drop: str | None = None,
    limit: int | None = None,
    prefix: str | None = None,
) -> str:
    """The first `limit` errors (all by default) as one sentence, "; " between them.

    `drop` is a location prefix that says nothing to the reader, such as FastAPI's "body";
    `prefix` names the root the locations are in (e.g. a step's `with`).
    """
    return "; ".join(_problem(error, drop, prefix) for error in _listed(errors)[:limit])


def error_details(errors: Errors) -> list[dict[str, Any]]:
    """Every error as `{loc, msg, type}`, the `details` of an API error body."""
    return [
        {"loc": list(error.get("loc", ())), "msg": _message(error), "type": error.get("type")}
        for error in _listed(errors)
    ]


def _listed(errors: Errors) -> list[Mapping[str, Any]]:
    return list(errors.errors()) if isinstance(errors, ValidationError) else list(errors)


def _problem(error: Mapping[str, Any], drop: str | None, prefix: str | None) -> str:
    loc = list(error.get("loc", ()))
    if drop is not None and loc[:1] == [drop]:
        loc = loc[1:]
    if prefix is not None and loc:
        loc = [prefix, *loc]
    where = ".".join(str(part) for part in loc)
    return f"{where}: {_message(error)}" if where else _message(error)


def _message(error: Mapping[str, Any]) -> str:
    return str(error.get("msg", "invalid value")).removeprefix(VALUE_ERROR_PREFIX)


def json_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """`schema` when it is a valid JSON Schema (draft 2020-12), else a ValueError saying why:
    the validator of every field that holds one (a definition's input schema, an `llm`
    step's output schema)."""
    if schema is not None:
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as err:
            raise ValueError(f"is not a valid JSON Schema: {err.message}") from err
    return schema


# A `\u` or `\U` escape of a UTF-16 surrogate (D800-DFFF), or a `\` escape of anything else
# (consumed whole, so `\\ud800` reads as a backslash, then text).
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|.)", re.DOTALL)
_SURROGATE_ESCAPE = re.compile(r"\\(?:u|U0000)[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
HIGH, LOW = range(0xD800, 0xDC00), range(0xDC00, 0xE000)


def lone_surrogate(source: str, *, json_pairs: bool = True) -> str | None:
    """The first UTF-16 surrogate that JSON or YAML `source` spells without making a
    character of it, as written (`\\ud800`), or None: such a string is not text, and
    Temporal, PostgreSQL and every JSON encoder refuse it later, where it costs a 500.

    JSON spells a character beyond the BMP as a surrogate pair (`\\ud83d\\ude80`), which
    `json_pairs` accepts; YAML's parser never joins a pair, so for YAML every surrogate
    escape is lone. Raw surrogates (decoded with `surrogatepass`) are always lone.
    """
    if (raw := _SURROGATE.search(source)) is not None:
        return f"\\u{ord(raw[0]):04x}"
    if _SURROGATE_ESCAPE.search(source) is None:  # the usual case: one C-speed scan
        return None
    high: re.Match[str] | None = None  # a high surrogate waiting for its low half
    for escape in _ESCAPE.finditer(source):
        digits = escape[1] or escape[2]
        code = int(digits, 16) if digits else -1
        if high is not None:
            if escape.start() == high.end() and escape[1] and code in LOW:
                high = None
                continue
            return high[0]
        if code in HIGH and json_pairs and escape[1]:
            high = escape
        elif code in HIGH or code in LOW:
            return escape[0]
    return high[0] if high is not None else None
