"""How the `/v1` surface names statuses: the canonical vocabulary, as it is."""

from __future__ import annotations

from collections.abc import Iterable

from ferryman.api.codes import ErrorCode
from ferryman.api.errors import ApiError
from ferryman.statuses import Status, phrase

VOCABULARY = ", ".join(status.value for status in Status)


def status_phrase(status: Status) -> str:
    """For sentences (`InvalidState`): `the run is paused`."""
    return phrase(status, "run")


def parse_statuses(values: Iterable[str]) -> frozenset[Status] | None:
    """`status` given repeated or comma-separated; None when not given at all."""
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    if not names:
        return None
    unknown = sorted({name for name in names if name not in Status._value2member_map_})
    if unknown:
        raise ApiError(
            f"unknown status {unknown[0]!r}; statuses are {VOCABULARY}", ErrorCode.INVALID_FILTER
        )
    return frozenset(Status(name) for name in names)
