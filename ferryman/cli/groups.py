"""How every command group of the CLI is made, so they all print help alike."""

from __future__ import annotations

from typing import Any

import typer


def group(**options: Any) -> typer.Typer:
    """A command group with click's own help layout: typer's rich one prints a type beside
    every flag (`--help <bool>`, as if it took a value), which click's leaves out."""
    return typer.Typer(**{"rich_markup_mode": None, "add_completion": False, **options})
