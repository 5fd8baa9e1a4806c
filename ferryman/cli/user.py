"""The user's commands: jobs, runs, dead letters, schedules and events for `wait` steps, over
the API's HTTP surface through `ferryman.client` (never Temporal directly). The options they
share, the output and the exit codes are `session`'s."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ferryman.cli import render
from ferryman.cli.groups import group
from ferryman.cli.session import RUN_FAILED, Session, read_json, user_command

if TYPE_CHECKING:
    from ferryman.client import RunFilters

app = group()
jobs_app = group(help="Create, update and list jobs.", no_args_is_help=True)
runs_app = group(help="List, read, follow and control runs.", no_args_is_help=True)
dlq_app = group(help="Dead-lettered runs: list and redrive.", no_args_is_help=True)
schedules_app = group(help="Cron schedules of jobs.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
app.add_typer(runs_app, name="runs")
app.add_typer(dlq_app, name="dlq")
app.add_typer(schedules_app, name="schedules")

RunId = Annotated[str, typer.Argument(help="The run's id (exec_...).", show_default=False)]
JobId = Annotated[str, typer.Argument(help="The job's id.", show_default=False)]
ScheduleId = Annotated[str, typer.Argument(help="The schedule's id (sched_...).")]
Payload = Annotated[
    str | None,
    typer.Option("--payload", "-p", help="A JSON object, or @FILE with one (@- for stdin)."),
]
JobFilter = Annotated[str | None, typer.Option("--job", help="Only this job's runs.")]
Limit = Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many rows.")]
Watch = Annotated[
    bool,
    typer.Option(
        "--watch",
        "-w",
        help="Follow it live until it ends; exit 0 if it completed, 1 otherwise.",
    ),
]


def payload_object(session: Session, text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    value = read_json(text, "--payload", session)
    if not isinstance(value, dict):
        session.fail("--payload must be a JSON object")
    return value


def job_filter(job: str | None) -> RunFilters:
    return {"job_id": job} if job else {}


def watched(session: Session, run_id: str) -> None:
    """Follow the run until it ends; exit 0 if it completed, 1 otherwise."""
    from ferryman.cli.watch import follow, summary

    async def watching() -> Any:
        async with session.async_client() as client:
            return await follow(session, client, await client.runs.get(run_id))

    try:
        run = asyncio.run(watching())
    except KeyboardInterrupt:
        session.err.print(f"stopped watching; the run goes on: ferryman runs watch {run_id}")
        raise
    if session.json:
        session.json_line({"run": run})
    else:
        session.out.print(summary(run), soft_wrap=True)
    if run.status != "completed":
        raise typer.Exit(RUN_FAILED)


# --- jobs ---------------------------------------------------------------------------------


@user_command(jobs_app, "apply")
def jobs_apply(
    session: Session,
    file: Annotated[Path, typer.Argument(help="A job definition, YAML or JSON.")],
) -> None:
    """Create the job, or give it a new version; the same definition keeps its version."""
    try:
        text = file.read_text()
    except OSError as err:
        session.fail(f"cannot read {file}: {err.strerror or err}")
    applied = session.client.jobs.apply(text)
    session.show({"change": applied.change, "job": applied.job}, lambda: render.applied(applied))


@user_command(jobs_app, "list")
def jobs_list(session: Session) -> None:
    """The project's jobs."""
    jobs = session.client.jobs.list()
    session.show(jobs, lambda: render.jobs_table(jobs))


# --- run and runs -------------------------------------------------------------------------


@user_command(app, "run")
def run(
    session: Session,
    job_id: JobId,
    payload: Payload = None,
    watch: Watch = False,
    idempotency_key: Annotated[
        str | None,
        typer.Option("--idempotency-key", help="The same key again gives the same run."),
    ] = None,
) -> None:
    """Trigger a run of a job (and with --watch, follow it until it ends)."""
    body = payload_object(session, payload)
    started = session.client.runs.trigger(job_id, body, idempotency_key=idempotency_key)
    if watch:
        if not session.json:
            session.err.print(f"triggered run {started.id} of {started.job_id}")
        watched(session, started.id)
        return
    session.show(
        started, lambda: f"triggered run {started.id} of {started.job_id} ({started.status})"
    )


@user_command(runs_app, "list")
def runs_list(
    session: Session,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", "-s", help="Only runs in this status (repeat for several)."),
    ] = None,
    job: JobFilter = None,
    limit: Limit = 20,
) -> None:
    """Runs, open ones first, newest first."""
    filters = job_filter(job)
    if status:
        filters["status"] = status
    found = session.client.runs.list(page_size=min(limit, 100), **filters)
    runs = list(itertools.islice(found, limit))
    session.show(runs, lambda: render.runs_table(runs))


@user_command(runs_app, "get")
def runs_get(session: Session, run_id: RunId) -> None:
    """One run."""
    found = session.client.runs.get(run_id)
    session.show(found, lambda: render.run_fields(found))


@user_command(runs_app, "watch")
def runs_watch(session: Session, run_id: RunId) -> None:
    """Follow a run live until it ends; exit 0 if it completed, 1 otherwise."""
    watched(session, run_id)


@user_command(runs_app, "cancel")
def runs_cancel(session: Session, run_id: RunId) -> None:
    """Cancel a run: steps in flight are cancelled."""
    canceled = session.client.runs.cancel(run_id)
    session.show(canceled, lambda: f"run {canceled.id} {canceled.status}")


@user_command(runs_app, "replay")
def runs_replay(session: Session, run_id: RunId, watch: Watch = False) -> None:
    """Replay a run from the start, as a new run."""
    replayed = session.client.runs.replay(run_id)
    if watch:
        watched(session, replayed.id)
        return
    session.show(replayed, lambda: f"replayed {run_id} as run {replayed.id} ({replayed.status})")


@user_command(runs_app, "events")
def runs_events(
    session: Session,
    run_id: RunId,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Go on with each new event until the run ends.")
    ] = False,
) -> None:
    """A run's events; with --follow, live (the SSE stream) until the run ends."""
    runs = session.client.runs
    events = runs.stream(run_id) if follow else runs.events(run_id)
    for event in events:
        if session.json:
            session.json_line(event)
        else:
            session.out.print(render.event_line(event), soft_wrap=True)


# --- dead letters -------------------------------------------------------------------------


@user_command(dlq_app, "list")
def dlq_list(session: Session, job: JobFilter = None, limit: Limit = 20) -> None:
    """Dead-lettered runs, newest first."""
    found = session.client.dead_letters.list(page_size=min(limit, 100), **job_filter(job))
    runs = list(itertools.islice(found, limit))
    session.show(runs, lambda: render.runs_table(runs))


@user_command(dlq_app, "redrive")
def dlq_redrive(
    session: Session,
    run_ids: Annotated[list[str] | None, typer.Argument(help="Dead-lettered runs.")] = None,
    all_runs: Annotated[
        bool, typer.Option("--all", help="Every dead letter (of --job, if given).")
    ] = False,
    job: JobFilter = None,
) -> None:
    """Run dead letters again from their last checkpoint, under the same ids."""
    if bool(run_ids) == all_runs:
        session.fail("name the runs to redrive, or pass --all")
    if all_runs:
        redriven = session.client.dead_letters.redrive_all(**job_filter(job)).replayed
    else:
        redriven = [session.client.dead_letters.redrive(run_id) for run_id in run_ids or []]
    session.show(redriven, lambda: render.runs_table(redriven))


# --- schedules ----------------------------------------------------------------------------


@user_command(schedules_app, "list")
def schedules_list(session: Session) -> None:
    """The project's cron schedules."""
    schedules = list(session.client.schedules.list())
    session.show(schedules, lambda: render.schedules_table(schedules))


@user_command(schedules_app, "create")
def schedules_create(
    session: Session,
    job_id: JobId,
    cron: Annotated[str, typer.Argument(help='A cron expression: "0 6 * * *", "@daily"...')],
    payload: Payload = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="An IANA time zone [default: UTC]")
    ] = None,
) -> None:
    """Run a job on a cron schedule."""
    body = payload_object(session, payload)
    created = session.client.schedules.create(job_id, cron, payload=body, timezone=timezone)
    session.show(created, lambda: render.schedules_table([created]))


@user_command(schedules_app, "pause")
def schedules_pause(session: Session, schedule_id: ScheduleId) -> None:
    """Pause a schedule: no run starts until it is unpaused."""
    paused = session.client.schedules.pause(schedule_id)
    session.show(paused, lambda: render.schedules_table([paused]))


@user_command(schedules_app, "unpause")
def schedules_unpause(session: Session, schedule_id: ScheduleId) -> None:
    """Unpause a schedule: it fires again from its next time."""
    unpaused = session.client.schedules.unpause(schedule_id)
    session.show(unpaused, lambda: render.schedules_table([unpaused]))


# --- events for wait steps ----------------------------------------------------------------


@user_command(app, "approve")
def approve(
    session: Session,
    run_id: RunId,
    signal: Annotated[str, typer.Argument(help="The event a `wait` step waits for.")],
    payload: Annotated[
        str | None,
        typer.Option("--payload", "-p", help="Its payload: JSON, or @FILE (@- for stdin)."),
    ] = None,
) -> None:
    """Deliver an event to a run's `wait` step (kept until the step is reached)."""
    value = None if payload is None else read_json(payload, "--payload", session)
    answer = session.client.runs.signal(run_id, signal, value)
    session.show(answer, lambda: f"delivered {signal} to run {run_id} ({answer.status})")
