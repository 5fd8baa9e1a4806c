"""The one-way rule of docs/architecture.md, checked on the code: `activities` <- `workflows`
<- `api`; the plumbing in `ferryman/` imports none of them (but the entry points that wire
them together); and the worker process loads no HTTP framework."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

# The packages each folder may not import (installed, every folder is `ferryman.<folder>`).
FORBIDDEN = {
    "activities": ("ferryman.workflows", "ferryman.api"),
    "workflows": ("ferryman.api",),
}
# Modules of `ferryman/` that wire the layers together; the rest is plumbing.
ENTRY_POINTS = {"cli", "worker", "supervisor", "__main__"}
LAYERS = ("ferryman.api", "ferryman.workflows", "ferryman.activities")


def imported(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of its code."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def breaches(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in paths
        for name in sorted(imported(path))
        if name.startswith(forbidden)
    ]


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_a_layer_imports_only_the_layers_below_it(folder: str) -> None:
    paths = sorted((ROOT / folder).rglob("*.py"))
    assert paths
    assert breaches(paths, FORBIDDEN[folder]) == []


def test_the_plumbing_imports_no_layer() -> None:
    paths = [p for p in sorted((ROOT / "ferryman").glob("*.py")) if p.stem not in ENTRY_POINTS]
    assert breaches(paths, LAYERS) == []


def test_the_worker_process_loads_no_http_framework() -> None:
    probe = (
        "import sys, ferryman.worker; print(sorted({'fastapi', 'starlette'} & set(sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert loaded.stdout.strip() == "[]"
