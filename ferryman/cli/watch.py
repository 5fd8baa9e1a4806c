"""`ferryman run --watch` and `ferryman runs watch`: a run followed live until it ends.

The run's event stream (`GET /v1/runs/{id}/stream`) says when each step starts, retries,
fails or completes; its chunk stream (`/stream/chunks`) carries the tokens its `llm` steps
stream. Both are read at once (`AsyncClient`) and folded into `RunWatch`. On a terminal the
steps are one live table (status, attempt, duration, the streamed text); otherwise each
change is one plain line, so a log or a CI job shows it too; `--output json` writes one
JSON object per line (`{"event": ...}`, `{"chunk": ...}`, last `{"run": ...}`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.live import Live
from rich.table import Column, Table
from rich.text import Text

from ferryman.cli.render import compact, duration, status, when
from ferryman.statuses import TERMINAL_STATUSES

if TYPE_CHECKING:
    from ferryman.cli.session import Session
    from ferryman.client import AsyncClient
    from ferryman.client.models import Chunk, Run, RunEvent

# What the run's own events say about its status (the last word is the run read at the end).
RUN_STATUS = {
    "execution.started": "executing",
    "execution.paused": "paused",
    "execution.resumed": "executing",
    "execution.completed": "completed",
    "execution.failed": "failed",
    "execution.cancelled": "canceled",
    "execution.timed_out": "timed_out",
}
STEP_STATUS = {
    "step.started": "running",
    "step.retrying": "retrying",
    "step.failed": "failed",
    "step.completed": "completed",
    "step.skipped": "skipped",
}
TAIL = 60  # characters of streamed text a live table shows per step
REFOLLOW_SECS = 0.5  # between two follows of a run that has not ended (a redrive restarts it)


@dataclass
class StepLine:
    step_id: str
    status: str = "pending"
    attempt: int = 0
    started: datetime | None = None
    finished: datetime | None = None
    note: str = ""  # what it waits for, or its error
    text: str = ""  # what its model calls streamed
    streaming: tuple[int, int] = (0, 0)  # the (call, attempt) the text is from


class RunWatch:
    """A run as its events and chunks tell it."""

    def __init__(self, run: Run) -> None:
        self.run_id = run.id
        self.job_id = run.job_id
        self.status = str(run.status)
        self.steps: dict[str, StepLine] = {}

    def _step(self, step_id: str) -> StepLine:
        return self.steps.setdefault(step_id, StepLine(step_id))

    def event(self, event: RunEvent) -> str | None:
        """Take an event in; the line that says what changed (None: nothing to say)."""
        if event.type in RUN_STATUS:
            self.status = RUN_STATUS[event.type]
        if event.type not in STEP_STATUS:
            return event.message if event.type.startswith(("execution.", "signal.")) else None
        data = event.data
        step = self._step(str(data.get("step_id", "?")))
        step.status = STEP_STATUS[event.type]
        step.attempt = int(data.get("attempt") or step.attempt or 1)
        if event.type == "step.started":
            step.started = step.started or event.created_at
            step.note = _waiting(data)
            step.status = "waiting" if step.note else "running"
        elif event.type in ("step.retrying", "step.failed"):
            step.note = str(data.get("error", ""))
        else:
            step.note = ""
        if step.status in ("completed", "skipped", "failed"):
            step.finished = event.created_at
        return self.describe(step)

    def chunk(self, chunk: Chunk) -> str:
        """Take a chunk of streamed text in; the line that shows it."""
        step = self._step(chunk.step_id)
        source = (chunk.call, chunk.attempt)
        if source != step.streaming:
            # A retried call streams its text again from the start; a new call adds its own.
            step.text = "" if source[0] == step.streaming[0] else step.text
            step.streaming = source
        step.text += chunk.text
        return f"{chunk.step_id} > {chunk.text}"

    def describe(self, step: StepLine) -> str:
        parts = [f"{step.step_id}: {step.status}"]
        if step.attempt > 1:
            parts.append(f"(attempt {step.attempt})")
        took = duration(step.started, step.finished)
        if took:
            parts.append(f"in {took}")
        if step.note:
            parts.append(f"- {step.note}")
        return " ".join(parts)

    def table(self) -> Table:
        table = Table(
            Column("step", no_wrap=True),
            "status",
            Column("attempt", justify="right"),
            Column("time", justify="right"),
            Column("", overflow="ellipsis", no_wrap=True),
            title=Text.assemble(f"run {self.run_id} ({self.job_id}) ", status(self.status)),
            title_justify="left",
        )
        now = datetime.now(UTC)
        for step in self.steps.values():
            shown = step.text.replace("\n", " ")[-TAIL:] if step.text else step.note
            table.add_row(
                step.step_id,
                status(step.status),
                str(step.attempt or ""),
                duration(step.started, step.finished or (now if step.started else None)),
                shown,
            )
        return table


def _waiting(data: dict[str, Any]) -> str:
    if data.get("signal"):
        return f"waiting for the event {data['signal']!r}"
    if data.get("until"):
        return f"sleeping until {data['until']}"
    if data.get("run_id"):
        return f"waiting for the run {data['run_id']}"
    return ""


async def _merged(*streams: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """The items of every stream as they come, until all of them end."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    done = object()

    async def pump(items: AsyncIterator[Any]) -> None:
        try:
            async for item in items:
                await queue.put(item)
        finally:
            await queue.put(done)

    pumps = [asyncio.create_task(pump(stream)) for stream in streams]
    try:
        ended = 0
        while ended < len(pumps):
            item = await queue.get()
            if item is not done:
                yield item
                continue
            ended += 1
            for task in pumps:
                if task.done() and task.exception():
                    task.result()  # its error at once: the other stream may go on for long
    finally:
        for task in pumps:
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)


async def follow(session: Session, client: AsyncClient, run: Run) -> Run:
    """Show the run until it ends; the run as it ended."""
    from ferryman.client.models import RunEvent

    watch = RunWatch(run)
    live_table = not session.json and session.out.is_terminal
    plain = not session.json and not live_table

    def take(item: RunEvent | Chunk) -> None:
        if session.json:
            session.json_line({"event" if isinstance(item, RunEvent) else "chunk": item})
        if isinstance(item, RunEvent):
            line, moment = watch.event(item), item.created_at
        else:
            line, moment = watch.chunk(item), datetime.now(UTC)
        if plain and line is not None:
            session.out.print(f"{when(moment)}  {line}", soft_wrap=True, markup=False)

    live = Live(get_renderable=watch.table, console=session.out, refresh_per_second=4)
    events_after: str | None = None
    chunks_after: str | None = None
    with live if live_table else contextlib.nullcontext():
        while True:
            events = client.runs.stream(run.id, last_event_id=events_after)
            chunks = client.runs.chunks(run.id, last_event_id=chunks_after)
            async for item in _merged(events, chunks):
                take(item)
            events_after, chunks_after = events.last_event_id, chunks.last_event_id
            run = await client.runs.get(run.id)
            if run.status in TERMINAL_STATUSES:
                break
            # The streams ended, the run did not (its API restarted, a redrive restarted it).
            await asyncio.sleep(REFOLLOW_SECS)
        watch.status = str(run.status)  # the live table's last frame
    return run


def summary(run: Run) -> Text:
    line = Text.assemble(f"run {run.id} ", status(run.status))
    took = duration(run.started_at, run.finished_at)
    if took:
        line.append(f" in {took}")
    if run.error:
        line.append(f": {run.error}", style="red")
    elif run.result is not None:
        line.append(f"; result: {compact(run.result, 200)}")
    return line
