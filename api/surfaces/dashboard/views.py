"""The dashboard's one view-model module: domain objects as its pages show them.

Statuses are shown with a symbol and a word, never by colour alone (`look`). A run's steps
become a timeline (`timeline`): one bar per attempt, the backoff before the next attempt, a
wait as a wait, on one time axis so parallel branches sit side by side. A job's steps become
a graph (`graph`), drawn as SVG by its template.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml

from ferryman.api.codes import ErrorCode
from ferryman.api.errors import ApiError
from ferryman.api.executions.events import Event
from ferryman.api.executions.view import ExecutionView, StepView, WaitingOn
from ferryman.statuses import FAILURE_STATUSES, TERMINAL_STATUSES, Status, StepStatus
from ferryman.workflows.checkpoints import ROLLBACK


@dataclass(frozen=True)
class Look:
    label: str
    symbol: str
    tone: str  # a CSS class: ok, bad, live, idle, warn


_LOOKS: dict[str, Look] = {
    Status.DELAYED: Look("delayed", "◷", "idle"),
    Status.QUEUED: Look("queued", "…", "idle"),
    Status.DEQUEUED: Look("starting", "▹", "live"),
    Status.EXECUTING: Look("running", "▶", "live"),
    Status.WAITING: Look("waiting", "◔", "warn"),
    Status.PAUSED: Look("paused", "❚❚", "warn"),
    Status.COMPLETED: Look("completed", "✓", "ok"),
    Status.FAILED: Look("failed", "✗", "bad"),
    Status.CRASHED: Look("crashed", "✗", "bad"),
    Status.SYSTEM_FAILED: Look("system failed", "✗", "bad"),
    Status.EXPIRED: Look("expired", "⌛", "bad"),
    Status.DEAD_LETTER: Look("dead letter", "☠", "bad"),
    Status.CANCELED: Look("canceled", "⊘", "idle"),
    Status.TIMED_OUT: Look("timed out", "⌛", "bad"),
    StepStatus.PENDING: Look("pending", "○", "idle"),
    StepStatus.RUNNING: Look("running", "▶", "live"),
    StepStatus.RETRYING: Look("retrying", "↻", "warn"),
    StepStatus.SKIPPED: Look("skipped", "↷", "idle"),
}


def look(status: str) -> Look:
    """How a run's or a step's status is shown: a word, a symbol and a tone."""
    return _LOOKS.get(status) or Look(str(status).replace("_", " "), "•", "idle")


STATUS_CHOICES = [(status.value, look(status).label) for status in Status]


def when(moment: datetime | None) -> str:
    """A UTC time as people read it: `2026-12-04 09:15:02`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def moment(name: str, text: str, code: ErrorCode = ErrorCode.INVALID_FILTER) -> datetime | None:
    """A `datetime-local` field, read as UTC (the dashboard shows every time in UTC)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as err:
        raise ApiError(f"{name} must be a date and time (2026-01-15T10:30)", code) from err
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def ago(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    secs = (datetime.now(UTC) - moment).total_seconds()
    return f"{_span(abs(secs))} {'ago' if secs >= 0 else 'from now'}"


def duration(start: datetime | None, end: datetime | None) -> str:
    """How long from `start` to `end` (to now while it runs)."""
    if start is None:
        return "—"
    return _span(((end or datetime.now(UTC)) - start).total_seconds())


def _span(secs: float) -> str:
    if secs < 1:
        return f"{secs * 1000:.0f} ms"
    if secs < 60:
        return f"{secs:.1f} s"
    if secs < 3600:
        return f"{int(secs // 60)} min {int(secs % 60)} s"
    if secs < 86_400:
        return f"{int(secs // 3600)} h {int(secs % 3600 // 60)} min"
    return f"{int(secs // 86_400)} d {int(secs % 86_400 // 3600)} h"


def pretty(value: Any) -> str:
    """A JSON value, indented (text, so the template escapes it)."""
    if value is None:
        return "—"
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class RunRow:
    """One run in a list: one visibility row, no describe."""

    id: str
    job: str
    status: Status
    triggered_by: str
    tags: dict[str, str]
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    open: bool

    @classmethod
    def of(cls, view: ExecutionView) -> RunRow:
        return cls(
            id=view.id,
            job=view.workflow_id,
            status=view.status,
            triggered_by=view.triggered_by or "api",
            tags=view.run.tags,
            started_at=view.started_at or view.created_at,
            finished_at=view.completed_at,
            error=(view.error.cause or view.error.status) if view.error else None,
            open=view.status not in TERMINAL_STATUSES,
        )


# ---- a run's timeline --------------------------------------------------------------------


@dataclass
class Segment:
    """A stretch of one step's time: an attempt, the backoff after a failed one, a wait."""

    kind: str  # attempt | backoff | wait
    start: datetime
    end: datetime | None  # None: still going
    outcome: str  # running, completed, retrying, failed, waiting, skipped
    label: str
    left: float = 0.0  # percent of the axis
    width: float = 0.0


@dataclass
class Lane:
    step: StepView
    segments: list[Segment] = field(default_factory=list)


@dataclass(frozen=True)
class Timeline:
    lanes: list[Lane]
    start: datetime | None
    end: datetime | None


WAIT_KINDS = frozenset({"sleep", "wait"})


def timeline(
    steps: Sequence[StepView], events: Iterable[Event], closed_at: datetime | None
) -> Timeline:
    """Each step's attempts, backoffs and waits from the run's events, on one axis."""
    lanes = {step.step_id: Lane(step) for step in steps}
    rolled_back: datetime | None = None  # the last rollback's time
    for event in events:
        lane = lanes.get(str(event.data.get("step_id", "")))
        if lane is not None:
            _apply(lane, event)
        elif event.type == "checkpoint.created" and event.data.get("step_id") == ROLLBACK:
            rolled_back = event.created_at
    for lane in lanes.values():
        _settle(lane, closed_at)
        if rolled_back is not None:
            _discard(lane, rolled_back)
    moments = [s.start for lane in lanes.values() for s in lane.segments]
    moments += [s.end for lane in lanes.values() for s in lane.segments if s.end]
    if not moments:
        return Timeline(list(lanes.values()), None, None)
    start = min(moments)
    end = closed_at or datetime.now(UTC)
    end = max([end, *moments])
    span = max((end - start).total_seconds(), 0.001)
    for lane in lanes.values():
        for segment in lane.segments:
            finish = segment.end or end
            segment.left = round((segment.start - start).total_seconds() / span * 100, 2)
            width = (finish - segment.start).total_seconds() / span * 100
            segment.width = round(max(width, 0.6), 2)  # a short attempt stays visible
    return Timeline(list(lanes.values()), start, end)


def _apply(lane: Lane, event: Event) -> None:
    data, at, last = event.data, event.created_at, lane.segments[-1] if lane.segments else None
    if event.type == "step.started":
        # A local attempt's event comes when it ended; it says when it began.
        at = _time(data.get("started_at")) or at
        if last is not None and last.end is None and last.kind == "attempt":
            return  # a further call of an `llm` step: part of the same attempt
        if last is not None and last.outcome == "retrying":
            lane.segments.append(Segment("backoff", last.end or at, at, "backoff", "backoff"))
        if lane.step.kind in WAIT_KINDS:
            what = data.get("signal") or (f"until {when(_time(data.get('until')))}")
            lane.segments.append(Segment("wait", at, None, "waiting", f"waits for {what}"))
        else:
            attempt = data.get("attempt", 1)
            lane.segments.append(Segment("attempt", at, None, "running", f"attempt {attempt}"))
    elif event.type in ("step.retrying", "step.failed") and last is not None:
        last.end, last.outcome = at, "retrying" if event.type == "step.retrying" else "failed"
        last.label += f": {data.get('error', '')}"
    elif event.type in ("step.completed", "step.skipped"):
        if last is None or last.end is not None:
            lane.segments.append(Segment("attempt", at, at, "", "in the workflow"))
            last = lane.segments[-1]
        last.end, last.outcome = at, event.type.removeprefix("step.")


def _settle(lane: Lane, closed_at: datetime | None) -> None:
    """Close what the run's end cut short; a step seen only in its record (a `transform`
    of a run whose early events are gone) gets one bar from its record."""
    step = lane.step
    if not lane.segments and step.started_at is not None:
        outcome = step.status.value
        lane.segments.append(Segment("attempt", step.started_at, step.completed_at, outcome, ""))
    for segment in lane.segments:
        if segment.end is None and closed_at is not None:
            segment.end = closed_at
            if segment.outcome in ("running", "waiting"):
                segment.outcome = "canceled"


def _discard(lane: Lane, rolled_back: datetime) -> None:
    """What a rollback undid stays drawn, as discarded: the attempts before it of a step
    that has not run (again) since."""
    step = lane.step
    if step.started_at is not None and step.started_at < rolled_back:
        return  # kept by the rollback
    for segment in lane.segments:
        if segment.start < rolled_back:
            segment.outcome = "discarded"
            segment.label = f"discarded by a rollback: {segment.label}"


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


# ---- a job's graph -------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    x: int
    y: int


@dataclass(frozen=True)
class Edge:
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass(frozen=True)
class Graph:
    nodes: list[Node]
    edges: list[Edge]
    width: int
    height: int
    node_width: int = 150
    node_height: int = 44


def graph(document: dict[str, Any]) -> Graph:
    """The steps laid out in columns by depth (a step right of all it depends on)."""
    steps = [s for s in document.get("steps", []) if isinstance(s, dict) and "id" in s]
    needs = {str(s["id"]): [str(d) for d in s.get("depends_on", [])] for s in steps}
    depth: dict[str, int] = {}

    def level(step_id: str, seen: frozenset[str] = frozenset()) -> int:
        if step_id not in depth:
            parents = [p for p in needs.get(step_id, []) if p in needs and p not in seen]
            depth[step_id] = 1 + max((level(p, seen | {step_id}) for p in parents), default=-1)
        return depth[step_id]

    columns: dict[int, list[str]] = {}
    for step_id in needs:
        columns.setdefault(level(step_id), []).append(step_id)
    box_w, box_h, gap_x, gap_y, pad = 150, 44, 60, 24, 12
    place: dict[str, tuple[int, int]] = {}
    for column, ids in columns.items():
        for row, step_id in enumerate(ids):
            place[step_id] = (pad + column * (box_w + gap_x), pad + row * (box_h + gap_y))
    kinds = {str(s["id"]): str(s.get("kind", "activity")) for s in steps}
    nodes = [Node(step_id, kinds[step_id], *place[step_id]) for step_id in needs]
    edges = [
        Edge(place[p][0] + box_w, place[p][1] + box_h // 2, place[c][0], place[c][1] + box_h // 2)
        for c, parents in needs.items()
        for p in parents
        if p in place
    ]
    width = pad * 2 + max(len(columns), 1) * (box_w + gap_x) - gap_x
    height = pad * 2 + max((len(ids) for ids in columns.values()), default=1) * (box_h + gap_y)
    return Graph(nodes, edges, width, height - gap_y)


def diff(old: dict[str, Any], new: dict[str, Any], old_name: str, new_name: str) -> list[str]:
    """A unified diff of two definitions, as YAML."""

    def lines(document: dict[str, Any]) -> list[str]:
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True).splitlines()

    return list(difflib.unified_diff(lines(old), lines(new), old_name, new_name, n=3, lineterm=""))


# ---- dead letters ----------------------------------------------------------------------------


@dataclass
class DeadLetterGroup:
    job: str
    error: str
    runs: list[RunRow] = field(default_factory=list)


def dead_letter_groups(views: Iterable[ExecutionView]) -> list[DeadLetterGroup]:
    """Dead-lettered runs by job and error, the largest group first."""
    groups: dict[tuple[str, str], DeadLetterGroup] = {}
    for view in views:
        row = RunRow.of(view)
        error = row.error or "no error recorded"
        groups.setdefault((row.job, error), DeadLetterGroup(row.job, error)).runs.append(row)
    return sorted(groups.values(), key=lambda g: (-len(g.runs), g.job, g.error))


def is_failure(status: Status) -> bool:
    return status in FAILURE_STATUSES


# ---- a run's controls ------------------------------------------------------------------------


@dataclass(frozen=True)
class RunActions:
    """Which of a run's buttons its status allows (the run's own validators still decide)."""

    pause: bool
    resume: bool
    cancel: bool
    replay: bool
    reschedule: bool
    redrive: bool
    approvals: list[WaitingOn]  # the `wait` steps waiting for their event now
    rollback: bool

    @classmethod
    def of(cls, view: ExecutionView) -> RunActions:
        status = view.status
        is_open = status not in TERMINAL_STATUSES
        return cls(
            pause=is_open and status not in (Status.PAUSED, Status.DELAYED),
            resume=status == Status.PAUSED,
            cancel=is_open,
            replay=not is_open,
            reschedule=status == Status.DELAYED,
            redrive=status == Status.DEAD_LETTER,
            approvals=[w for w in waiting_now(view) if w.kind == "wait" and w.signal],
            rollback=status not in (Status.DELAYED, Status.QUEUED, Status.DEQUEUED),
        )


def waiting_now(view: ExecutionView) -> list[WaitingOn]:
    """What the run waits on, without a step that a rollback sent back to pending (its
    memo entry may outlive it until the run goes on)."""
    pending = {s.step_id for s in view.steps or [] if s.status == StepStatus.PENDING}
    return [w for w in view.waiting_on if w.step_id not in pending]


# What the page says after an action succeeded (`?done=<key>`): a fixed sentence per key.
DONE = {
    "paused": "Paused: the run holds before its next step or attempt.",
    "resumed": "Resumed.",
    "canceled": "Cancel requested: steps in flight are cancelled.",
    "replayed": "This is the new run, replayed from the start.",
    "replayed-from": "This is the new run, started from the checkpoint's state.",
    "restarted": "This is the new run of the same job, from the start.",
    "rescheduled": "Rescheduled.",
    "redriven": "Redriven from its last checkpoint, under the same id.",
    "approved": "Sent: the wait step takes the event.",
    "rolled-back": "Rolled back to the checkpoint, paused there: resume it when ready.",
    "triggered": "Triggered: this is the new run.",
    "schedule-paused": "Schedule paused: no run starts until it is unpaused.",
    "schedule-unpaused": "Schedule unpaused: it fires again from its next time.",
}
