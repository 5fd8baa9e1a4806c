"""Identifiers: execution ids (the Temporal workflow ids), schedule ids and checkpoint ids."""

from __future__ import annotations

import re
import secrets
import time

from ferryman.api.codes import ErrorCode
from ferryman.api.errors import ApiError
from ferryman.workflows.runs import run_id

_ULID = r"[0-9A-HJKMNP-TV-Z]{26}"
# A cron schedule's action names one `exec_<ULID>`; Temporal appends each firing's time
# (UTC, whole seconds) to it, and that whole id is the run's.
EXECUTION_ID = re.compile(rf"exec_{_ULID}(-\d{{4}}-\d{{2}}-\d{{2}}T\d{{2}}:\d{{2}}:\d{{2}}Z)?")
SCHEDULE_ID = re.compile(rf"sched_{_ULID}")


def new_execution_id() -> str:
    """`exec_` + a ULID (`ferryman.workflows.runs.run_id`): ids sort by time."""
    return run_id(time.time_ns() // 1_000_000, secrets.randbits(80))


def new_batch_id() -> str:
    """`batch_` + the same sortable unique id."""
    return "batch_" + new_execution_id().removeprefix("exec_")


def new_schedule_id() -> str:
    """`sched_` + the same sortable unique id."""
    return "sched_" + new_execution_id().removeprefix("exec_")


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
        raise ApiError("checkpoint not found", ErrorCode.CHECKPOINT_NOT_FOUND)
    return int(number)
