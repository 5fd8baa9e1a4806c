"""How the user commands show the API's models to people: tables, one line per event, a
run's fields. Colours come from rich, which leaves them out when the output is not a
terminal. Ids are never shortened: they are copied into the next command."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.table import Column, Table
from rich.text import Text

if TYPE_CHECKING:
    from ferryman.client.models import Job, JobApplied, Run, RunEvent, Schedule

STYLES = {
    "completed": "green",
    "executing": "blue",
    "dequeued": "blue",
    "waiting": "cyan",
    "paused": "magenta",
    "delayed": "cyan",
    "queued": "cyan",
    "canceled": "yellow",
    "expired": "yellow",
    "timed_out": "red",
    "failed": "red",
    "crashed": "red",
    "system_failed": "red",
    "dead_letter": "red",
    # step statuses
    "running": "blue",
    "retrying": "yellow",
    "skipped": "dim",
    "pending": "dim",
}


def status(value: str) -> Text:
    return Text(value, style=STYLES.get(value, ""))


def when(moment: datetime | None) -> str:
    """A moment in the local time zone, to the second."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return ""
    seconds = max((end - start).total_seconds(), 0.0)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def compact(value: Any, width: int = 60) -> str:
    """A value as one line of JSON, cut to `width`."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


def _id_column(ids: Iterable[str], name: str = "id") -> Column:
    return Column(name, no_wrap=True, min_width=max((len(i) for i in ids), default=2))


def runs_table(runs: list[Run]) -> Table:
    table = Table(
        _id_column(run.id for run in runs),
        Column("job", no_wrap=True),
        "status",
        Column("created", no_wrap=True),
        "took",
        Column("error", overflow="fold"),
    )
    for run in runs:
        table.add_row(
            run.id,
            run.job_id,
            status(run.status),
            when(run.created_at),
            duration(run.started_at, run.finished_at),
            run.error or "",
        )
    return table


def run_fields(run: Run) -> Table:
    """One run, field by field."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    rows: list[tuple[str, str | Text]] = [
        ("id", run.id),
        ("job", f"{run.job_id} v{run.job_version}" if run.job_version else run.job_id),
        ("status", status(run.status)),
        ("attempt", str(run.attempt)),
        ("payload", compact(run.payload, 200)),
        ("result", compact(run.result, 200) if run.result is not None else ""),
        ("error", run.error or ""),
        ("triggered by", run.triggered_by or ""),
        ("created", when(run.created_at)),
        ("started", when(run.started_at)),
        ("finished", when(run.finished_at)),
        ("took", duration(run.started_at, run.finished_at)),
    ]
    if run.usage and run.usage.calls:
        usage = run.usage
        rows.append(("tokens", f"{usage.total_tokens} in {usage.calls} model calls"))
    for name, value in rows:
        if value:
            grid.add_row(name, value)
    return grid


def jobs_table(jobs: list[Job]) -> Table:
    table = Table(_id_column(job.id for job in jobs), "version", "name", "disabled", "updated")
    for job in jobs:
        disabled = Text("yes", style="yellow") if job.disabled else ""
        table.add_row(job.id, str(job.latest_version), job.name, disabled, when(job.updated_at))
    return table


def applied(result: JobApplied) -> str:
    job = result.job
    if result.change == "created":
        return f"created job {job.id} (version {job.job_version})"
    if result.change == "updated":
        return f"updated job {job.id} to version {job.job_version}"
    return f"job {job.id} unchanged (version {job.job_version})"


def schedules_table(schedules: list[Schedule]) -> Table:
    table = Table(
        _id_column(schedule.id for schedule in schedules),
        Column("job", no_wrap=True),
        "cron",
        "timezone",
        "paused",
        "next run",
    )
    for schedule in schedules:
        paused = Text("yes", style="yellow") if schedule.paused else "no"
        table.add_row(
            schedule.id,
            schedule.job_id,
            schedule.cron,
            schedule.timezone,
            paused,
            when(schedule.next_run_at),
        )
    return table


def event_line(event: RunEvent) -> Text:
    """`time  type  message`, coloured by level."""
    style = {"error": "red", "warning": "yellow"}.get(event.level, "")
    line = Text(f"{when(event.created_at)}  ")
    line.append(f"{event.type:<20}", style=style or "bold")
    line.append(f" {event.message}")
    return line
