"""Identifiers: execution ids (the Temporal workflow ids) and checkpoint ids."""

from __future__ import annotations

import re
import secrets
import time

from ferryman.api.codes import ErrorCode
from ferryman.api.errors import NotFound

EXECUTION_ID = re.compile(r"^exec_[0-9A-HJKMNP-TV-Z]{26}$")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_execution_id() -> str:
    """`exec_` + a ULID: 48 bits of milliseconds then 80 random bits, so ids sort by time."""
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "exec_" + "".join(reversed(chars))


def new_batch_id() -> str:
    """`batch_` + the same sortable unique id."""
    return "batch_" + new_execution_id().removeprefix("exec_")


def is_execution_id(value: str) -> bool:
    return bool(EXECUTION_ID.match(value))


def checkpoint_id(execution_id: str, sequence: int) -> str:
    return f"chk_{execution_id}_{sequence}"


def checkpoint_sequence(execution_id: str, checkpoint: str) -> int:
    """`chk_<execution id>_<sequence>` -> sequence; anything else names no checkpoint."""
    prefix = f"chk_{execution_id}_"
    number = checkpoint.removeprefix(prefix)
    if not checkpoint.startswith(prefix) or not number.isdigit() or len(number) > 9:
        raise NotFound("checkpoint not found", ErrorCode.CHECKPOINT_NOT_FOUND)
    return int(number)
