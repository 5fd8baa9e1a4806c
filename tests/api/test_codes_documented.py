"""The README's error table and `ErrorCode` name the same codes, each with the HTTP statuses
it is answered with."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from functools import cache

from ferryman.api import errors
from ferryman.api.codes import ErrorCode
from tests.support.paths import ROOT
from tests.support.readme import backticked, table

# Answered with the status of the HTTP error they stand for (`api/errors.py`'s handler of
# Starlette's errors, the body-limit middleware): nothing in a call names it.
FROM_STARLETTE = {
    ErrorCode.ROUTE_NOT_FOUND: {404},
    ErrorCode.METHOD_NOT_ALLOWED: {405},
    ErrorCode.BODY_TOO_LARGE: {413},
}


def http_status_of(code: ErrorCode) -> set[int]:
    """The HTTP statuses `code` is answered with.

    For now read from the code: every call in `api/` that passes `ErrorCode.X` to an
    `ApiError` class (its `status_code`; `InvalidState`'s `status_code` argument) or to
    `envelope` (its status argument). When `api/errors.py` keeps one table of code ->
    status, point this at that table.
    """
    return _raised().get(code, set()) | FROM_STARLETTE.get(code, set())


@cache
def _raised() -> dict[ErrorCode, set[int]]:
    found: dict[ErrorCode, set[int]] = defaultdict(set)
    for path in (ROOT / "api").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            status = _status_of_call(node) if isinstance(node, ast.Call) else None
            if status is not None:
                assert isinstance(node, ast.Call)
                found.update({code: found[code] | {status} for code in _codes_in(node)})
    return found


def _codes_in(call: ast.Call) -> list[ErrorCode]:
    values = [*call.args, *(keyword.value for keyword in call.keywords)]
    return [
        ErrorCode[value.attr]
        for value in values
        if isinstance(value, ast.Attribute)
        and isinstance(value.value, ast.Name)
        and value.value.id == "ErrorCode"
    ]


def _status_of_call(call: ast.Call) -> int | None:
    function = call.func
    name = getattr(function, "id", None) or getattr(function, "attr", None)
    if name == "envelope":
        return _constant(call.args[1])
    # The store's NotFound and Conflict are answered 404 and 409, as the API's are.
    kind = getattr(errors, str(name), None)
    if not (isinstance(kind, type) and issubclass(kind, errors.ApiError)):
        return None
    given = {keyword.arg: keyword.value for keyword in call.keywords}
    status = given.get("status_code")
    if kind is errors.InvalidState:
        return _constant(status) if status is not None else 409
    return kind.status_code


def _constant(node: ast.expr) -> int | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, int) else None


def documented() -> dict[str, set[int]]:
    """Code -> the statuses its row of the README's error table names."""
    rows = table("### Errors")
    return {
        code: {int(status) for status in re.findall(r"\b[1-5]\d\d\b", statuses)}
        for codes, statuses, _ in rows
        for code in backticked(codes)
    }


def test_every_error_code_is_in_the_readme_with_its_statuses() -> None:
    rows = documented()
    assert sorted(rows) == sorted(code.value for code in ErrorCode)
    wrong = {
        code.value: (sorted(rows[code.value]), sorted(http_status_of(code)))
        for code in ErrorCode
        if rows[code.value] != http_status_of(code)
    }
    assert wrong == {}, "code: (README, answered)"


def test_the_readme_names_where_the_codes_live() -> None:
    text = (ROOT / "README.md").read_text()
    assert "`ferryman/api/codes.py`" not in text
    assert "`api/codes.py`" in text and "`ferryman.api.codes`" in text
