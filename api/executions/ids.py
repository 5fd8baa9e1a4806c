"""Identifiers: execution ids (the Temporal workflow ids), schedule ids and checkpoint ids."""

from __future__ import annotations

import re
import secrets
import time

from ferryman.api.codes import ErrorCode
from ferryman.api.errors import NotFound

_ULID = r"[0-9A-HJKMNP-TV-Z]{26}"
# A cron schedule's action names one `exec_<ULID>`; Temporal appends each firing's time
# (UTC, whole seconds) to it, and that whole id is the run's.
EXECUTION_ID = re.compile(rf"exec_{_ULID}(-\d{{4}}-\d{{2}}-\d{{2}}T\d{{2}}:\d{{2}}:\d{{2}}Z)?")
SCHEDULE_ID = re.compile(rf"sched_{_ULID}")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _ulid() -> str:
    """A ULID: 48 bits of milliseconds then 80 random bits, so ids sort by time."""
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars))


def new_execution_id() -> str:
    """`exec_` + a ULID."""
    return "exec_" + _ulid()


def new_batch_id() -> str:
    """`batch_` + a ULID."""
    return "batch_" + _ulid()


def new_schedule_id() -> str:
    """`sched_` + a ULID."""
    return "sched_" + _ulid()


def is_execution_id(value: str) -> bool:
    return bool(EXECUTION_ID.fullmatch(value))


def is_schedule_id(value: str) -> bool:
    return bool(SCHEDULE_ID.fullmatch(value))


def checkpoint_id(execution_id: str, sequence: int) -> str:
    return f"chk_{execution_id}_{sequence}"


def checkpoint_sequence(execution_id: str, checkpoint: str) -> int:
    """`chk_<execution id>_<sequence>` -> sequence; anything else names no checkpoint."""
    prefix = f"chk_{execution_id}_"
    number = checkpoint.removeprefix(prefix)
    if not checkpoint.startswith(prefix) or not number.isdigit() or len(number) > 9:
        raise NotFound("checkpoint not found", ErrorCode.CHECKPOINT_NOT_FOUND)
    return int(number)
