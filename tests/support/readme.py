"""The README's tables, read as a user reads them: for tests that keep the README and the
code from drifting apart."""

from __future__ import annotations

import re

from tests.support.paths import ROOT


def table(heading: str, index: int = 0) -> list[list[str]]:
    """The rows (cells as written, header and rule left out) of the `index`-th table under
    the README heading `heading` (e.g. `## Configuration`), before the next heading."""
    text = (ROOT / "README.md").read_text()
    start = text.index(f"\n{heading}\n")
    section = text[start + len(heading) + 2 :]
    following = re.search(r"\n#{1,6} ", section)
    section = section[: following.start()] if following else section
    tables: list[list[list[str]]] = [[]]
    for line in section.splitlines():
        if line.startswith("|"):
            tables[-1].append(_cells(line.strip()[1:-1]))
        elif tables[-1]:
            tables.append([])
    return [t for t in tables if t][index][2:]


def backticked(cell: str) -> list[str]:
    """The `code` spans of a cell, in order."""
    return re.findall(r"`([^`]+)`", cell)


def _cells(row: str) -> list[str]:
    """A row's cells: split at each `|` outside a `code` span."""
    cells, current, in_code = [], "", False
    for char in row:
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code:
            cells.append(current.strip())
            current = ""
        else:
            current += char
    return [*cells, current.strip()]
