"""The README's error table and `ErrorCode` name the same codes, each with the one HTTP
status it is answered with (`HTTP_STATUS`)."""

from __future__ import annotations

import re

from ferryman.api.codes import ErrorCode
from ferryman.api.envelope import HTTP_STATUS
from tests.support.paths import ROOT
from tests.support.readme import backticked, table


def http_status_of(code: ErrorCode) -> set[int]:
    """The HTTP status `code` is answered with: its one entry in `HTTP_STATUS`."""
    return {HTTP_STATUS[code]}


def documented() -> dict[str, set[int]]:
    """Code -> the statuses its row of the README's error table names."""
    rows = table("### Errors")
    return {
        code: {int(status) for status in re.findall(r"\b[1-5]\d\d\b", statuses)}
        for codes, statuses, _ in rows
        for code in backticked(codes)
    }


def test_every_error_code_has_one_status() -> None:
    assert set(HTTP_STATUS) == set(ErrorCode)


def test_every_error_code_is_in_the_readme_with_its_status() -> None:
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
