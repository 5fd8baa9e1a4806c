"""Activities the tests register through the real registry (FERRYMAN_ACTIVITY_MODULES)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from ferryman.activities.registry import StepTask, step_activity

CALLS: Counter[str] = Counter()


class Flaky(BaseModel):
    fail_times: int = 0
    fatal: bool = False
    value: Any = None


@step_activity("test.flaky")
async def flaky(task: StepTask) -> Any:
    """Fails `fail_times` attempts (retryably unless `fatal`), then returns `value`."""
    params = Flaky.model_validate(task.params)
    CALLS[f"{task.execution_id}:{task.step_id}"] += 1
    if task.attempt <= params.fail_times or params.fatal:
        raise ApplicationError(
            f"planned failure on attempt {task.attempt}",
            type="Planned",
            non_retryable=params.fatal,
        )
    return {"value": params.value, "attempt": task.attempt}


class Slow(BaseModel):
    seconds: float


@step_activity("test.slow")
async def slow(params: Slow) -> dict[str, float]:
    """Sleeps, heartbeating, so cancellation reaches it."""
    await _heartbeating_sleep(params.seconds)
    return {"slept": params.seconds}


async def _heartbeating_sleep(seconds: float) -> None:
    waited = 0.0
    while waited < seconds:
        activity.heartbeat()
        await asyncio.sleep(0.1)
        waited += 0.1


@step_activity("test.echo")
async def echo(params: dict[str, Any]) -> dict[str, Any]:
    return params


class Work(BaseModel):
    n: int
    seconds: float
    marks: str  # a directory: each attempt leaves a file there when it starts


@step_activity("test.work")
async def work(task: StepTask) -> dict[str, int]:
    """Takes `seconds`, heartbeating; its start marks let a test kill a worker mid-step."""
    params = Work.model_validate(task.params)
    mark = Path(params.marks) / f"{task.execution_id}.{task.step_id}.{task.attempt}"
    mark.touch()
    await _heartbeating_sleep(params.seconds)
    return {"n": params.n}


class Secretive(BaseModel):
    secret: str
    fail: bool = False


@step_activity("test.secretive")
async def secretive(params: Secretive) -> dict[str, Any]:
    """Does with a secret everything an activity should not: heartbeats it, logs it, returns
    it (plain and URL-encoded) or fails with it in the message and the details."""
    activity.heartbeat({"holding": params.secret})
    logging.getLogger("tests.secretive").warning("using %s", params.secret)
    if params.fail:
        raise ApplicationError(
            f"refused {params.secret}",
            {"secret": params.secret},
            type="Planned",
            non_retryable=True,
        )
    return {"seen": params.secret, "encoded": quote(params.secret, safe="")}


class Quiet(BaseModel):
    seconds: float
    marks: str | None = None  # a directory: each attempt leaves a file there when it starts


@step_activity("test.quiet")
async def quiet(task: StepTask) -> dict[str, float]:
    """Takes `seconds` and never heartbeats itself (as most user code does not)."""
    params = Quiet.model_validate(task.params)
    if params.marks:
        (Path(params.marks) / f"{task.execution_id}.{task.step_id}.{task.attempt}").touch()
    await asyncio.sleep(params.seconds)
    return {"slept": params.seconds}


class Until(BaseModel):
    marker: str  # a file: the step fails (retryably) until it exists
    value: Any = None


@step_activity("test.until")
async def until(task: StepTask) -> dict[str, Any]:
    """Fails every attempt, retryably, until its marker file exists: a fault fixed later."""
    params = Until.model_validate(task.params)
    CALLS[f"{task.execution_id}:{task.step_id}"] += 1
    if not await asyncio.to_thread(Path(params.marker).exists):
        raise ApplicationError(f"{params.marker} is not there yet", type="NotYet")
    return {"value": params.value}
