"""Secrets: named in templates, resolved only inside activities.

A template's `{{ secrets.NAME }}` renders to a placeholder; the activity swaps it for the
value of the worker's environment variable `FERRYMAN_SECRET_NAME` just before use, so the
value never enters workflow state, history, events or the Temporal UI.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from temporalio.exceptions import ApplicationError

_PLACEHOLDER = re.compile(r"\$\{\{secret:([A-Za-z_][A-Za-z0-9_]*)\}\}")
ENV_PREFIX = "FERRYMAN_SECRET_"


def secret_placeholder(name: str) -> str:
    return "${{secret:" + name + "}}"


def resolve_secrets(value: Any, lookup: Mapping[str, str] | None = None) -> Any:
    """Replace every placeholder inside `value` (nested dicts and lists too)."""
    source = lookup if lookup is not None else _environment_secrets()
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda match: _lookup(source, match.group(1)), value)
    if isinstance(value, dict):
        return {key: resolve_secrets(item, source) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_secrets(item, source) for item in value]
    return value


def _environment_secrets() -> dict[str, str]:
    return {
        key[len(ENV_PREFIX) :]: value
        for key, value in os.environ.items()
        if key.startswith(ENV_PREFIX)
    }


def _lookup(source: Mapping[str, str], name: str) -> str:
    if name not in source:
        raise ApplicationError(
            f"secret {name!r} is not set on the worker (environment variable {ENV_PREFIX}{name})",
            type="SecretMissing",
            non_retryable=True,
        )
    return source[name]
