"""Polling: tests wait for a condition, never for a fixed time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from ferryman.readiness import wait_until

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    check: Callable[[T], bool],
    timeout: float = 30.0,
    interval: float = 0.1,
) -> T:
    """Call `probe` until `check` holds on its answer; fail with the last answer."""
    last: list[T] = []  # the latest answer, for the failure

    async def checked() -> tuple[T] | None:
        last[:] = [await probe()]
        return (last[0],) if check(last[0]) else None  # in a tuple, a falsy answer counts too

    try:
        (value,) = await wait_until(checked, timeout=timeout, interval=interval, what="a check")
    except TimeoutError:
        seen = repr(last[0]) if last else "none yet"
        raise AssertionError(f"condition not met within {timeout}s; last value: {seen}") from None
    return value
