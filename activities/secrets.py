"""Secrets: named in templates, resolved only inside activities, redacted on the way out.

A template's `{{ secrets.NAME }}` renders to a placeholder; the activity swaps it for the
value of the worker's environment variable `FERRYMAN_SECRET_NAME` just before use, so the
value never enters workflow state, history, events or the Temporal UI. Every value an
activity resolved is remembered for that activity (`Redactor`, one per activity run), and
`ferryman.activities.guard` redacts it from everything the activity returns, raises,
heartbeats or logs: as `[secret:NAME]`, whether it appears whole, inside a longer string or
URL-encoded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote, quote_plus

from pydantic import BaseModel
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


def secret_value(name: str) -> str:
    """The value of secret `name`, as `{{ secrets.NAME }}` resolves it (and remembered for
    redaction the same way); `SecretMissing`, not retryable, when the worker lacks it."""
    return _lookup(_environment_secrets(), name)


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
    remember_secret(name, source[name])
    return source[name]


def remember_secret(name: str, value: str) -> None:
    """Have the running activity's redactor take `value` out of whatever leaves it, as
    `[secret:NAME]` (for a secret the activity got some other way than a placeholder)."""
    redactor = CURRENT.get()
    if redactor is not None:
        redactor.remember(name, value)


class Redactor:
    """The secrets one activity run resolved, and how to take them out of anything."""

    def __init__(self) -> None:
        self._forms: dict[str, str] = {}  # a spelling of a value -> its marker

    def __bool__(self) -> bool:
        return bool(self._forms)

    def open_tail(self, text: str) -> int:
        """How many of `text`'s last characters could begin a secret: text that arrives in
        pieces holds them back until the next piece says whether one is there."""
        longest = 0
        for form in self._forms:
            for size in range(min(len(form) - 1, len(text)), longest, -1):
                if text.endswith(form[:size]):
                    longest = size
                    break
        return longest

    def remember(self, name: str, value: str) -> None:
        if not value:
            return
        marker = f"[secret:{name}]"
        for form in {value, quote(value, safe=""), quote(value), quote_plus(value)}:
            self._forms[form] = marker
        # Longest first, so a value inside another secret's value is not replaced first.
        self._forms = dict(sorted(self._forms.items(), key=lambda item: -len(item[0])))

    def text(self, value: str) -> str:
        for form, marker in self._forms.items():
            if form in value:
                value = value.replace(form, marker)
        return value

    def redact(self, value: Any) -> Any:
        """`value` with every secret replaced, at any depth (models become plain data)."""
        if not self._forms:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, BaseModel):
            return self.redact(value.model_dump(mode="json", by_alias=True))
        if isinstance(value, dict):
            return {self.redact(key): self.redact(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact(item) for item in value]
        return value


# The redactor of the activity running in this context (set by the guard interceptor).
CURRENT: ContextVar[Redactor | None] = ContextVar("ferryman_secret_redactor", default=None)


def redact_log_records() -> None:
    """Every log record created while an activity runs loses that activity's secrets.

    Done where records are made (the record factory), so it holds for every logger and
    every handler, the user's and the SDK's included. Idempotent.
    """
    make = logging.getLogRecordFactory()
    if getattr(make, "redacts_secrets", False):
        return

    def redacting(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        redactor = CURRENT.get()
        if redactor:
            if isinstance(record.msg, dict):  # structlog's event dict
                record.msg = redactor.redact(record.msg)
            else:  # formatted now: an argument may be any object that prints a secret
                with contextlib.suppress(Exception):  # a broken format stays as it was
                    record.msg, record.args = redactor.text(record.getMessage()), None
        return record

    redacting.redacts_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting)
