"""Cron schedules: Temporal Schedules whose action starts a run of a job at every firing.

Temporal owns every schedule (no table of ours). A schedule is:

- id `sched_<ULID>`, with the project as its own `FerrymanProject` search attribute: lists
  are one visibility query on it, and another project's schedule answers 404;
- its action: start the job (workflow type = the job id) with the `ExecutionInput` a manual
  trigger of the same payload would carry, built by the same `Launcher.prepare` (so the job
  version current at creation is pinned), the run's search attributes (`triggered_by:
  cron`) and start memo, under the workflow id `exec_<ULID>`, to which Temporal appends each
  firing's time (`exec_<ULID>-2026-11-24T06:00:00Z`: the run's id);
- its spec: the one cron expression, in its time zone;
- its memo: what Temporal does not keep as written, or not in lists: the cron text (the
  server compiles it into calendars), the payload (a list carries no action arguments;
  elided above 2 KB like a run's, and read whole from the action by `get`), the pinned
  version and the creation time. The job id lives in the action, the time zone in the spec,
  `paused` and the next firing in Temporal's own state.

Disabling a job pauses its schedules (new runs of a disabled job are refused, and a firing
is a new run) under a note of their own; enabling it unpauses those, and only those, so a
schedule paused through the API stays paused. Unpausing one while its job is disabled is
refused. The job's schedules are found through the same visibility query as a list, which
may trail a schedule created a moment before (about a second on the dev server).
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleDescription,
    ScheduleListActionStartWorkflow,
    ScheduleListDescription,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from ferryman import search_attributes as sa
from ferryman.api.codes import ErrorCode
from ferryman.api.errors import ApiError, schedule_not_found, temporal_error
from ferryman.api.executions.ids import is_schedule_id, new_execution_id, new_schedule_id
from ferryman.api.executions.launch import Launcher, LaunchRequest, static_summary
from ferryman.api.executions.visibility import Cursor, cursor_refused
from ferryman.workflows import memo, runs
from ferryman.workflows import models as m

T = TypeVar("T")
DEFAULT_TIMEZONE = "UTC"
# A firing missed by more than this (Temporal down) is skipped, as cron skips it, rather
# than caught up later (Temporal's default window is a year).
CATCHUP_WINDOW = timedelta(minutes=1)
PAUSE_NOTE = "paused through the ferryman API"
DISABLED_NOTE = "paused while job {job_id!r} is disabled"
# Temporal moves a `CRON_TZ=`/`TZ=` prefix into the spec's time zone: ours has one owner.
TZ_PREFIXES = ("CRON_TZ=", "TZ=")


NEXT_RUNS_SHOWN = 5


class MemoKey:
    CRON = "cron"
    PAYLOAD = "payload"
    JOB_VERSION = "job_version"
    CREATED_AT = "created_at"


@dataclass(frozen=True)
class ScheduleRequest:
    project_id: str
    job_id: str
    cron: str
    payload: dict[str, Any]
    timezone: str = DEFAULT_TIMEZONE
    created_by: str | None = None  # the id of the API key that asked


@dataclass(frozen=True)
class ScheduleView:
    """One schedule as Temporal describes or lists it."""

    id: str
    job_id: str
    job_version: int | None
    cron: str
    timezone: str
    payload: Any
    paused: bool
    next_run_at: datetime | None  # None while paused: no run starts until unpaused
    created_at: datetime | None
    # The next firings Temporal computed (none while paused), `next_run_at` first.
    next_runs: list[datetime] = field(default_factory=list)


@dataclass(frozen=True)
class SchedulePage:
    views: list[ScheduleView]
    next_cursor: str | None


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(message, ErrorCode.VALIDATION_ERROR, [{"loc": ["body", field], "msg": message}])


def check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as err:
        raise _invalid(
            "timezone", f"unknown time zone {name!r}: use an IANA name such as 'Europe/Paris'"
        ) from err


def check_cron(cron: str) -> None:
    """What Temporal would accept but we refuse; the grammar itself is Temporal's to judge."""
    if cron.upper().startswith(TZ_PREFIXES):
        raise _invalid("cron", "the cron expression may not name a time zone: use `timezone`")


def spec_error(err: RPCError, request: ScheduleRequest) -> ApiError | None:
    """Temporal's refusal of a spec (INVALID_ARGUMENT, "Invalid schedule spec: ...") as a
    sentence naming the field, or None for any other refusal."""
    prefix = "invalid schedule spec:"
    if err.status != RPCStatusCode.INVALID_ARGUMENT or not err.message.lower().startswith(prefix):
        return None
    reason = err.message[len(prefix) :].strip()
    if "time zone" in reason:
        return _invalid("timezone", f"unknown time zone {request.timezone!r}: {reason}")
    return _invalid("cron", f"the cron expression {request.cron!r} is not valid: {reason}")


class Schedules:
    """Create, read, list, pause, unpause and delete the cron schedules of a project."""

    def __init__(self, client: Client, task_queue: str, launcher: Launcher) -> None:
        self.client = client
        self.task_queue = task_queue
        self.launcher = launcher

    async def create(self, request: ScheduleRequest) -> ScheduleView:
        """Check everything a manual trigger would, then hand the schedule to Temporal."""
        check_timezone(request.timezone)
        check_cron(request.cron)
        params, record = await self.launcher.prepare(
            LaunchRequest(
                project_id=request.project_id,
                workflow_id=request.job_id,
                input=request.payload,
                created_by=request.created_by,
                triggered_by="cron",
            ),
            new_execution_id(),
        )
        schedule_id = new_schedule_id()
        try:
            handle = await self.client.create_schedule(
                schedule_id,
                Schedule(
                    action=self._action(params, record),
                    spec=ScheduleSpec(
                        cron_expressions=[request.cron], time_zone_name=request.timezone
                    ),
                    # Every firing starts a run, as cron does; a job's concurrency limit is
                    # where runs wait for each other.
                    policy=SchedulePolicy(
                        overlap=ScheduleOverlapPolicy.ALLOW_ALL, catchup_window=CATCHUP_WINDOW
                    ),
                ),
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(sa.PROJECT, request.project_id)]
                ),
                memo=_memo(request, params),
            )
        except RPCError as err:
            raise (spec_error(err, request) or temporal_error(err)) from err
        return await self.get(request.project_id, handle.id)

    def _action(
        self, params: m.ExecutionInput, record: dict[str, Any]
    ) -> ScheduleActionStartWorkflow:
        """The start of every firing's run: what `start_run` passes for a trigger, except
        the creation time, which only each firing knows (its run's start time)."""
        start = runs.RunStart(
            triggered_by="cron",
            status=runs.initial_status(params, datetime.now(UTC)),
            created_at=None,
            record=record,
        )
        return ScheduleActionStartWorkflow(
            params.workflow_id,
            params,
            id=params.execution_id,
            task_queue=self.task_queue,
            typed_search_attributes=runs.search_attributes(params, start),
            memo=runs.start_memo(params, start),
            static_summary=static_summary(params),
            priority=runs.task_priority(params.run.priority if params.run else 0),
        )

    async def get(self, project_id: str, schedule_id: str) -> ScheduleView:
        return await self._view(await self._describe(project_id, schedule_id))

    async def page(self, project_id: str, limit: int, cursor: str | None) -> SchedulePage:
        """One page of the project's schedules, from one visibility query: Temporal's list
        info may trail a change made a moment ago (`get` describes the schedule itself)."""
        query = f"{sa.PROJECT.name} = {sa.escape(project_id)}"
        token, _ = Cursor.read(query, cursor) if cursor else (None, 0)
        iterator = await self.client.list_schedules(query, page_size=limit, next_page_token=token)
        try:
            await iterator.fetch_next_page()
        except RPCError as err:
            raise cursor_refused(err) if token is not None else temporal_error(err) from err
        views = [await self._listed(project_id, entry) for entry in iterator.current_page or []]
        next_token = iterator.next_page_token
        return SchedulePage(views, Cursor.issue(query, next_token) if next_token else None)

    async def pause(self, project_id: str, schedule_id: str) -> ScheduleView:
        """Pause; pausing a paused schedule changes nothing (idempotent)."""
        await self._describe(project_id, schedule_id)
        await _call(self.client.get_schedule_handle(schedule_id).pause(note=PAUSE_NOTE))
        return await self.get(project_id, schedule_id)

    async def unpause(self, project_id: str, schedule_id: str) -> ScheduleView:
        """Unpause; unpausing a running schedule changes nothing (idempotent). 409 while
        its job is disabled: every firing would be a run the job refuses."""
        description = await self._describe(project_id, schedule_id)
        action = description.schedule.action
        if isinstance(action, ScheduleActionStartWorkflow):
            await self.launcher.admit(project_id, action.workflow, None)
        await _call(self.client.get_schedule_handle(schedule_id).unpause())
        return await self.get(project_id, schedule_id)

    async def hold_job(self, project_id: str, job_id: str) -> None:
        """Pause the job's running schedules, noting why (its job was disabled)."""
        note = DISABLED_NOTE.format(job_id=job_id)
        for schedule_id in await self._of_job(project_id, job_id):
            state = (await self._describe(project_id, schedule_id)).schedule.state
            if not state.paused:
                await _call(self.client.get_schedule_handle(schedule_id).pause(note=note))

    async def release_job(self, project_id: str, job_id: str) -> None:
        """Unpause the job's schedules that `hold_job` paused, and no other."""
        note = DISABLED_NOTE.format(job_id=job_id)
        for schedule_id in await self._of_job(project_id, job_id):
            state = (await self._describe(project_id, schedule_id)).schedule.state
            if state.paused and state.note == note:
                await _call(self.client.get_schedule_handle(schedule_id).unpause())

    async def _of_job(self, project_id: str, job_id: str) -> list[str]:
        """The ids of the project's schedules that start `job_id`."""
        found: list[str] = []
        query = f"{sa.PROJECT.name} = {sa.escape(project_id)}"
        try:
            async for entry in await self.client.list_schedules(query):
                if await self._job_of(project_id, entry) == job_id:
                    found.append(entry.id)
        except RPCError as err:
            raise temporal_error(err) from err
        return found

    async def delete(self, project_id: str, schedule_id: str) -> None:
        """Delete the schedule; the runs it started are not touched."""
        await self._describe(project_id, schedule_id)
        await _call(self.client.get_schedule_handle(schedule_id).delete())

    async def _job_of(self, project_id: str, entry: ScheduleListDescription) -> str | None:
        if entry.schedule is None:  # no list info yet: the schedule itself says
            action = (await self._describe(project_id, entry.id)).schedule.action
            return action.workflow if isinstance(action, ScheduleActionStartWorkflow) else None
        listed = entry.schedule.action
        return listed.workflow if isinstance(listed, ScheduleListActionStartWorkflow) else None

    async def _describe(self, project_id: str, schedule_id: str) -> ScheduleDescription:
        """The schedule, if it is one of the project's; 404 for anything else."""
        if not is_schedule_id(schedule_id):
            raise schedule_not_found()
        description = await _call(self.client.get_schedule_handle(schedule_id).describe())
        if description.typed_search_attributes.get(sa.PROJECT) != project_id:
            raise schedule_not_found()
        return description

    async def _view(self, description: ScheduleDescription) -> ScheduleView:
        action = description.schedule.action
        if not isinstance(action, ScheduleActionStartWorkflow):  # not one of ours
            raise schedule_not_found()
        written = await description.memo()
        payload = written.get(MemoKey.PAYLOAD)
        if memo.is_elided(payload):  # the whole payload is the action's input
            (params,) = await self.client.data_converter.decode(
                list(action.args), [m.ExecutionInput]
            )
            payload = params.input
        return _assemble(
            description.id,
            action.workflow,
            description.schedule.spec,
            description.schedule.state.paused,
            description.info.next_action_times,
            written,
            payload,
        )

    async def _listed(self, project_id: str, entry: ScheduleListDescription) -> ScheduleView:
        listed = entry.schedule
        if listed is None or entry.info is None:  # no list info (yet): ask the schedule
            return await self.get(project_id, entry.id)
        action = listed.action
        job_id = action.workflow if isinstance(action, ScheduleListActionStartWorkflow) else ""
        written = await entry.memo()
        return _assemble(
            entry.id,
            job_id,
            listed.spec,
            listed.state.paused,
            entry.info.next_action_times,
            written,
            written.get(MemoKey.PAYLOAD),
        )


async def _call(pending: Awaitable[T]) -> T:
    """A schedule handle's call, its errors in the API's terms (NOT_FOUND: the schedule)."""
    try:
        return await pending
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise schedule_not_found() from err
        raise temporal_error(err) from err


def _memo(request: ScheduleRequest, params: m.ExecutionInput) -> dict[str, Any]:
    return {
        MemoKey.CRON: request.cron,
        MemoKey.PAYLOAD: memo.summary(request.payload, params.memo_summary_limit_bytes),
        MemoKey.JOB_VERSION: params.version,
        MemoKey.CREATED_AT: datetime.now(UTC).isoformat(),
    }


def _assemble(
    schedule_id: str,
    job_id: str,
    spec: ScheduleSpec,
    paused: bool,
    next_times: Sequence[datetime],
    written: Mapping[str, Any],
    payload: Any,
) -> ScheduleView:
    created_at = written.get(MemoKey.CREATED_AT)
    return ScheduleView(
        id=schedule_id,
        job_id=job_id,
        job_version=written.get(MemoKey.JOB_VERSION),
        cron=str(written.get(MemoKey.CRON, "")),
        timezone=spec.time_zone_name or DEFAULT_TIMEZONE,
        payload=payload,
        paused=paused,
        # Temporal keeps computing a paused schedule's times; none of them will fire.
        next_run_at=None if paused or not next_times else next_times[0],
        next_runs=[] if paused else list(next_times[:NEXT_RUNS_SHOWN]),
        created_at=datetime.fromisoformat(created_at) if created_at else None,
    )
