"""The endpoints, grouped by resource and written once for both clients (`_endpoints`):
each method says which request it is and which wire model answers it.

`/v1` (seed 001): `Jobs`, `Runs`, `DeadLetters`, `Schedules`. `/api/v1`: `Workflows`,
`Executions`, `Keys`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypedDict, TypeVar, Unpack

import httpx
import yaml
from pydantic import BaseModel, ValidationError

from ferryman.activities.llm_contract import Chunk
from ferryman.api.surfaces.api_v1 import schemas as api_v1
from ferryman.api.surfaces.v1 import job_schemas
from ferryman.api.surfaces.v1 import schemas as v1
from ferryman.client import models as m
from ferryman.client._endpoints import Resource, TransportT, paged, request, streamed
from ferryman.client._transport import (
    IDEMPOTENCY_HEADER,
    Call,
    FerrymanError,
    Flow,
    Page,
    Streamed,
    event_data,
    model,
    segment,
)

T = TypeVar("T")
NEXT_CURSOR = "X-Next-Cursor"
# The events that close a run: its event stream has nothing after them.
CLOSING_EVENTS = frozenset(
    {"execution.completed", "execution.failed", "execution.cancelled", "execution.timed_out"}
)
Definition = Mapping[str, Any] | str  # a workflow definition: a mapping, or YAML/JSON text


class RunFilters(TypedDict, total=False):
    """The filters of a run list (`GET /v1/runs`): every one given must hold."""

    job_id: str
    status: str | Sequence[str]  # any of these statuses
    triggered_by: str
    batch_id: str
    tags: Mapping[str, str]  # every pair
    created_after: datetime
    created_before: datetime
    payload: Mapping[str, Any]  # runs whose payload contains this object


def _filters(filters: RunFilters) -> dict[str, Any]:
    params: dict[str, Any] = {}
    given: Mapping[str, Any] = filters
    for name, value in given.items():
        if name == "status" and isinstance(value, str):
            value = [value]
        elif name in ("tags", "payload"):
            value = json.dumps(value)
        elif isinstance(value, datetime):
            value = value.isoformat()
        params[name] = list(value) if name == "status" else value
    return params


def body(kind: type[BaseModel], **fields: Any) -> dict[str, Any]:
    """A request body built and checked by its wire model, as the API will read it; a field
    the model refuses raises a FerrymanError (`validation_error`) before anything is sent."""
    from ferryman.validation import error_sentence

    given = {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in fields.items()
        if value is not None
    }
    try:
        built = kind.model_validate(given)
    except ValidationError as err:
        raise FerrymanError(error_sentence(err), "validation_error") from err
    return built.model_dump(mode="json", exclude_unset=True, by_alias=True)


def fresh_key(given: str | None) -> dict[str, str]:
    """The `Idempotency-Key` header: the caller's key, else one made for this call, so that
    sending it again after a lost connection cannot start a second run."""
    return {IDEMPOTENCY_HEADER: given or f"client-{uuid.uuid4()}"}


def definition_call(method: str, path: str, definition: Definition, kind: type[T]) -> Call[T]:
    """A definition goes as YAML when given as text (JSON is YAML), else as JSON."""
    if isinstance(definition, str):
        yaml_type = {"Content-Type": "application/yaml"}
        return Call(method, path, model(kind), content=definition.encode(), headers=yaml_type)
    return Call(method, path, model(kind), json=dict(definition))


def header_page(read: Callable[[httpx.Response], list[T]]) -> Callable[[httpx.Response], Page[T]]:
    """A `/v1` list page: a JSON array, the next page's cursor in `X-Next-Cursor`."""

    def page(response: httpx.Response) -> Page[T]:
        cursor = response.headers.get(NEXT_CURSOR)
        return Page(read(response), {"cursor": cursor} if cursor else None)

    return page


def body_page(read: Callable[[httpx.Response], Any]) -> Callable[[httpx.Response], Page[Any]]:
    """An `/api/v1` cursor page: `{items, next_cursor}`, the cursor passed back as `after`."""

    def page(response: httpx.Response) -> Page[Any]:
        found = read(response)
        following = found.next_cursor
        return Page(found.items, None if following is None else {"after": following})

    return page


def closing(event: m.RunEvent | m.Event) -> bool:
    return event.type in CLOSING_EVENTS


def _job(job_id: str) -> Call[m.Job]:
    return Call("GET", f"/v1/jobs/{segment(job_id)}", model(m.Job))


def _run(run_id: str, then: str = "") -> str:
    return f"/v1/runs/{segment(run_id)}{then}"


def _execution(execution_id: str, then: str = "") -> str:
    return f"/api/v1/executions/{segment(execution_id)}{then}"


def _slug(definition: Definition) -> str:
    """The job id a definition registers under: its `id`, else its name made a slug (the
    API's own rule, `workflows.dsl.slugify`)."""
    document = yaml.safe_load(definition) if isinstance(definition, str) else definition
    if not isinstance(document, Mapping):
        raise FerrymanError("a workflow definition must be a mapping", "definition_invalid")
    if document.get("id"):
        return str(document["id"])
    from ferryman.workflows.dsl import slugify

    return slugify(str(document.get("name", "")))


class Jobs(Resource[TransportT]):
    """`/v1/jobs`: workflow definitions with their run defaults."""

    @request
    def get(self, job_id: str) -> Call[m.Job]:
        return _job(job_id)

    @request
    def create(self, definition: Definition) -> Call[m.Job]:
        """Register a new job (409 `workflow_exists` if its id is taken: see `apply`)."""
        return definition_call("POST", "/v1/jobs", definition, m.Job)

    @request
    def apply(self, definition: Definition) -> Flow[m.JobApplied]:
        """Create the job, or give it a new version; the same definition again keeps its
        version (`change` says which)."""
        try:
            created = yield definition_call("POST", "/v1/jobs", definition, m.Job)
            return m.JobApplied(created, "created")
        except FerrymanError as err:
            if err.code != "workflow_exists":
                raise
        job_id = _slug(definition)
        before: m.Job = yield _job(job_id)
        path = f"/api/v1/workflows/{segment(job_id)}"
        stored: m.Workflow = yield definition_call("PUT", path, definition, m.Workflow)
        after: m.Job = yield _job(job_id)
        unchanged = stored.version == before.latest_version
        return m.JobApplied(after, "unchanged" if unchanged else "updated")

    @request
    def dependencies(self, job_id: str) -> Call[list[m.Dependency]]:
        path = f"/v1/jobs/{segment(job_id)}/dependencies"
        return Call("GET", path, model(list[m.Dependency]))

    @request
    def add_dependency(
        self, job_id: str, depends_on_job_id: str, condition: m.Condition | str
    ) -> Call[m.Dependency]:
        """Make the job's runs wait until the latest run of `depends_on_job_id` meets
        `condition` (`completed`, `failed` or `finished`)."""
        sent = body(
            job_schemas.DependencyRequest, depends_on_job_id=depends_on_job_id, condition=condition
        )
        path = f"/v1/jobs/{segment(job_id)}/dependencies"
        return Call("POST", path, model(m.Dependency), json=sent)

    @request
    def list(self) -> Call[list[m.Job]]:
        """Every job of the key's project."""
        return Call("GET", "/v1/jobs", model(list[m.Job]))


class Runs(Resource[TransportT]):
    """`/v1/runs`: trigger, list, read, control and follow runs."""

    @request
    def trigger(
        self,
        /,
        job_id: str,
        payload: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **options: Any,
    ) -> Call[m.Run]:
        """Start a run of `job_id`. `options` are the other fields of `TriggerRequest`
        (`metadata`, `tags`, `priority`, `version`, `scheduled_at`, `concurrency_key`,
        `max_attempts_override`, ...). Under `idempotency_key` (one is made when none is
        given) a retried trigger returns the same run, so the call is retried safely."""
        sent = body(v1.TriggerRequest, payload=payload, **options)
        path = f"/v1/jobs/{segment(job_id)}/trigger"
        return Call("POST", path, model(m.Run), json=sent, headers=fresh_key(idempotency_key))

    @request
    def trigger_batch(
        self, job_id: str, items: Sequence[Mapping[str, Any]]
    ) -> Call[m.BatchTriggered]:
        """Start many runs at once (at most 100), each item a `TriggerRequest`; they share a
        `batch_id`. Items without an `idempotency_key` get one, so the call is retried
        safely."""
        keyed = [{"idempotency_key": f"client-{uuid.uuid4()}", **item} for item in items]
        sent = body(v1.BatchTriggerRequest, items=keyed)
        path = f"/v1/jobs/{segment(job_id)}/batch-trigger"
        return Call("POST", path, model(m.BatchTriggered), json=sent, keyed=True)

    @request
    def get(self, run_id: str) -> Call[m.Run]:
        return Call("GET", _run(run_id), model(m.Run))

    @request
    def cancel(self, run_id: str) -> Call[m.Run]:
        """Cancel the run: steps in flight are cancelled."""
        return Call("DELETE", _run(run_id), model(m.Run))

    @request
    def replay(self, run_id: str) -> Call[m.Run]:
        """A new run from the start (its `continuation_of` is this one)."""
        return Call("POST", _run(run_id, "/replay"), model(m.Run))

    @request
    def restart(
        self,
        run_id: str,
        *,
        payload: Mapping[str, Any] | None = None,
        preset: str | None = None,
        version: int | None = None,
    ) -> Call[m.Run]:
        """A new run of the same job from the start, with a new payload or preset."""
        sent = body(v1.RestartRequest, payload=payload, preset=preset, version=version)
        return Call("POST", _run(run_id, "/restart"), model(m.Run), json=sent)

    @request
    def pause(self, run_id: str) -> Call[m.Run]:
        return Call("POST", _run(run_id, "/pause"), model(m.Run))

    @request
    def resume(self, run_id: str) -> Call[m.Run]:
        return Call("POST", _run(run_id, "/resume"), model(m.Run))

    @request
    def reschedule(self, run_id: str, scheduled_at: datetime | str) -> Call[m.Run]:
        """Move a delayed run's start (409 `run_not_delayed` otherwise)."""
        sent = body(v1.RescheduleRequest, scheduled_at=scheduled_at)
        return Call("POST", _run(run_id, "/reschedule"), model(m.Run), json=sent)

    @request
    def signal(self, run_id: str, name: str, payload: Any = None) -> Call[m.ControlResult]:
        """Deliver the event `name` to the run's `wait` step that takes it (buffered until
        the step is reached)."""
        sent = body(api_v1.SignalRequest, name=name, payload=payload)
        return Call("POST", _execution(run_id, "/signal"), model(m.ControlResult), json=sent)

    @request
    def debug(self, run_id: str, enabled: bool = True) -> Call[m.DebugState]:
        """Debug mode: events carry each later step's input and output."""
        sent = body(v1.DebugRequest, enabled=enabled)
        return Call("POST", _run(run_id, "/debug"), model(m.DebugState), json=sent)

    @request
    def debug_bundle(self, run_id: str) -> Call[m.DebugBundle]:
        return Call("GET", _run(run_id, "/debug-bundle"), model(m.DebugBundle))

    @request
    def reset_idempotency_key(self, run_id: str) -> Call[m.IdempotencyReset]:
        """Free the run's idempotency key: the same key may start a new run."""
        return Call("DELETE", _run(run_id, "/idempotency-key"), model(m.IdempotencyReset))

    @request
    def state(self, run_id: str) -> Call[m.RunState]:
        """Each step's live state (from the worker, or folded from history)."""
        return Call("GET", _run(run_id, "/state"), model(m.RunState))

    @request
    def lineage(self, run_id: str) -> Call[list[m.Run]]:
        return Call("GET", _run(run_id, "/lineage"), model(list[m.Run]))

    @request
    def children(self, run_id: str) -> Call[list[m.Run]]:
        return Call("GET", _run(run_id, "/children"), model(list[m.Run]))

    @request
    def dependency_status(self, run_id: str) -> Call[m.DependencyStatus]:
        return Call("GET", _run(run_id, "/dependency-status"), model(m.DependencyStatus))

    @request
    def checkpoints(self, run_id: str) -> Call[list[m.RunCheckpoint]]:
        return Call("GET", _run(run_id, "/checkpoints"), model(list[m.RunCheckpoint]))

    @request
    def usage(self, run_id: str) -> Call[list[m.Usage]]:
        """Tokens and cost, one record per model call."""
        return Call("GET", _run(run_id, "/usage"), model(list[m.Usage]))

    @request
    def tool_calls(self, run_id: str) -> Call[list[m.ToolCall]]:
        return Call("GET", _run(run_id, "/tool-calls"), model(list[m.ToolCall]))

    @request
    def outputs(self, run_id: str) -> Call[list[m.StructuredOutput]]:
        return Call("GET", _run(run_id, "/outputs"), model(list[m.StructuredOutput]))

    @paged
    def events(
        self, run_id: str, *, after: int = 0, page_size: int = 100
    ) -> Call[Page[m.RunEvent]]:
        """The run's events so far, from its history."""
        read = model(list[m.RunEvent])

        def page(response: httpx.Response) -> Page[m.RunEvent]:
            items = read(response)
            full = len(items) == page_size
            return Page(items, {"after": items[-1].id} if full else None)

        params = {"after": after, "limit": page_size}
        return Call("GET", _run(run_id, "/events"), page, params=params)

    @streamed
    def stream(self, run_id: str, *, last_event_id: str | None = None) -> Streamed[m.RunEvent]:
        """Each event of the run as it happens, from the first (or after `last_event_id`)
        until the run closes."""
        path = _run(run_id, "/stream")
        return Streamed(path, event_data(m.RunEvent), last_event_id=last_event_id, final=closing)

    @streamed
    def chunks(self, run_id: str, *, last_event_id: str | None = None) -> Streamed[Chunk]:
        """The text its `llm` steps stream, in batches, as it is produced, until the run
        closes (a chunk with `attempt` > 1 starts that call's text again)."""
        path = _run(run_id, "/stream/chunks")
        return Streamed(path, event_data(Chunk), last_event_id=last_event_id)

    @request
    def bulk_cancel(self, run_ids: Sequence[str]) -> Call[m.BulkResult]:
        sent = body(v1.RunIds, run_ids=list(run_ids))
        return Call("POST", "/v1/runs/bulk-cancel", model(m.BulkResult), json=sent)

    @request
    def bulk_cancel_matching(self, **filters: Unpack[RunFilters]) -> Call[m.BulkResult]:
        """Cancel the open runs the filters find (at most 1,000)."""
        path = "/v1/runs/bulk-cancel-all"
        return Call("POST", path, model(m.BulkResult), params=_filters(filters))

    @request
    def bulk_replay(self, run_ids: Sequence[str]) -> Call[list[m.Run]]:
        """Replay each run as a new run from the start: the new runs."""
        sent = body(v1.RunIds, run_ids=list(run_ids))
        return Call("POST", "/v1/runs/bulk-replay", model(list[m.Run]), json=sent)

    @paged
    def list(self, *, page_size: int = 50, **filters: Unpack[RunFilters]) -> Call[Page[m.Run]]:
        """Every run the filters find: open runs first, newest first (Temporal's order)."""
        params = {"limit": page_size, **_filters(filters)}
        return Call("GET", "/v1/runs", header_page(model(list[m.Run])), params=params)


class DeadLetters(Resource[TransportT]):
    """`/v1/runs/dlq`: runs whose retryable error outlived their last attempt."""

    @request
    def redrive(self, run_id: str) -> Call[m.Run]:
        """Run it again from its last checkpoint, under the same id."""
        return Call("POST", _run(run_id, "/dlq-replay"), model(m.Run))

    @request
    def redrive_all(self, **filters: Unpack[RunFilters]) -> Call[m.DlqReplayed]:
        """Redrive every dead letter the filters find."""
        path = "/v1/runs/bulk-dlq-replay"
        return Call("POST", path, model(m.DlqReplayed), params=_filters(filters))

    @paged
    def list(self, *, page_size: int = 50, **filters: Unpack[RunFilters]) -> Call[Page[m.Run]]:
        params = {"limit": page_size, **_filters(filters)}
        return Call("GET", "/v1/runs/dlq", header_page(model(list[m.Run])), params=params)


class Schedules(Resource[TransportT]):
    """`/v1/schedules`: cron schedules, each firing a run of a job."""

    @request
    def create(
        self,
        job_id: str,
        cron: str,
        *,
        payload: Mapping[str, Any] | None = None,
        timezone: str | None = None,
    ) -> Call[m.Schedule]:
        sent = body(
            job_schemas.ScheduleCreate,
            job_id=job_id,
            cron=cron,
            payload=payload,
            timezone=timezone,
        )
        return Call("POST", "/v1/schedules", model(m.Schedule), json=sent)

    @request
    def get(self, schedule_id: str) -> Call[m.Schedule]:
        return Call("GET", f"/v1/schedules/{segment(schedule_id)}", model(m.Schedule))

    @request
    def delete(self, schedule_id: str) -> Call[m.ScheduleDeleted]:
        path = f"/v1/schedules/{segment(schedule_id)}"
        return Call("DELETE", path, model(m.ScheduleDeleted))

    @request
    def pause(self, schedule_id: str) -> Call[m.Schedule]:
        return Call("POST", f"/v1/schedules/{segment(schedule_id)}/pause", model(m.Schedule))

    @request
    def unpause(self, schedule_id: str) -> Call[m.Schedule]:
        return Call("POST", f"/v1/schedules/{segment(schedule_id)}/unpause", model(m.Schedule))

    @paged
    def list(self, *, page_size: int = 50) -> Call[Page[m.Schedule]]:
        read = header_page(model(list[m.Schedule]))
        return Call("GET", "/v1/schedules", read, params={"limit": page_size})


class Workflows(Resource[TransportT]):
    """`/api/v1/workflows`: workflow definitions and their versions."""

    @request
    def create(self, definition: Definition) -> Call[m.Workflow]:
        return definition_call("POST", "/api/v1/workflows", definition, m.Workflow)

    @request
    def update(self, workflow_id: str, definition: Definition) -> Call[m.Workflow]:
        """A new version (the same definition again keeps the version it has)."""
        path = f"/api/v1/workflows/{segment(workflow_id)}"
        return definition_call("PUT", path, definition, m.Workflow)

    @request
    def get(self, workflow_id: str, version: int | None = None) -> Call[m.Workflow]:
        path = f"/api/v1/workflows/{segment(workflow_id)}"
        return Call("GET", path, model(m.Workflow), params={"version": version})

    @request
    def versions(self, workflow_id: str) -> Call[m.WorkflowVersions]:
        path = f"/api/v1/workflows/{segment(workflow_id)}/versions"
        return Call("GET", path, model(m.WorkflowVersions))

    @request
    def disable(self, workflow_id: str) -> Call[m.Workflow]:
        path = f"/api/v1/workflows/{segment(workflow_id)}/disable"
        return Call("POST", path, model(m.Workflow))

    @request
    def enable(self, workflow_id: str) -> Call[m.Workflow]:
        path = f"/api/v1/workflows/{segment(workflow_id)}/enable"
        return Call("POST", path, model(m.Workflow))

    @paged
    def list(self, *, page_size: int = 100) -> Call[Page[m.Workflow]]:
        read = model(api_v1.WorkflowPage)

        def page(response: httpx.Response) -> Page[m.Workflow]:
            found = read(response)
            more = found.page * found.page_size < found.total
            return Page(found.items, {"page": found.page + 1} if more else None)

        params = {"page": 1, "page_size": page_size}
        return Call("GET", "/api/v1/workflows", page, params=params)


class Executions(Resource[TransportT]):
    """`/api/v1/executions`: start, read and control executions; failures."""

    @request
    def create(
        self,
        workflow_id: str,
        input_data: Mapping[str, Any] | None = None,
        *,
        metadata: Mapping[str, Any] | None = None,
        version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Call[m.ExecutionCreated]:
        """Start an execution; retried safely under `idempotency_key` (made if not given)."""
        sent = body(
            api_v1.CreateExecution,
            workflow_id=workflow_id,
            input_data=input_data,
            metadata=metadata,
            version=version,
        )
        headers = fresh_key(idempotency_key)
        return Call(
            "POST", "/api/v1/executions", model(m.ExecutionCreated), json=sent, headers=headers
        )

    @request
    def run_async(
        self,
        workflow_id: str,
        input_data: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Call[m.ExecutionAccepted]:
        """The webhook-style start: the body is the input (`triggered_by: event`)."""
        path = f"/api/v1/workflows/{segment(workflow_id)}/run-async"
        headers = fresh_key(idempotency_key)
        answer = model(m.ExecutionAccepted)
        return Call("POST", path, answer, json=dict(input_data or {}), headers=headers)

    @request
    def get(self, execution_id: str, *, include_step_results: bool = False) -> Call[m.Execution]:
        params = {"include_step_results": include_step_results}
        return Call("GET", _execution(execution_id), model(m.Execution), params=params)

    @request
    def stop(
        self, execution_id: str, *, force: bool = False, idempotency_key: str | None = None
    ) -> Call[m.ControlResult]:
        """Stop it (in-flight steps are cancelled); `force` terminates at once."""
        path = _execution(execution_id, "/stop")
        headers = fresh_key(idempotency_key)
        answer = model(m.ControlResult)
        return Call("POST", path, answer, params={"force": force}, headers=headers)

    @request
    def pause(self, execution_id: str) -> Call[m.ControlResult]:
        return Call("POST", _execution(execution_id, "/pause"), model(m.ControlResult))

    @request
    def resume(self, execution_id: str) -> Call[m.ControlResult]:
        return Call("POST", _execution(execution_id, "/resume"), model(m.ControlResult))

    signal = Runs.signal

    @request
    def checkpoints(self, execution_id: str) -> Call[list[m.Checkpoint]]:
        read = model(api_v1.CheckpointList)

        def items(response: httpx.Response) -> list[m.Checkpoint]:
            return read(response).items

        return Call("GET", _execution(execution_id, "/checkpoints"), items)

    @request
    def checkpoint(self, execution_id: str, checkpoint_id: str) -> Call[m.CheckpointState]:
        path = _execution(execution_id, f"/checkpoints/{segment(checkpoint_id)}")
        return Call("GET", path, model(m.CheckpointState))

    @request
    def replay(
        self, execution_id: str, checkpoint_id: str | None = None
    ) -> Call[m.ExecutionCreated]:
        """A new execution from a checkpoint's state (from the start without one)."""
        sent = body(api_v1.CheckpointRequest, checkpoint_id=checkpoint_id)
        path = _execution(execution_id, "/replay")
        return Call("POST", path, model(m.ExecutionCreated), json=sent)

    @request
    def rollback(self, execution_id: str, checkpoint_id: str) -> Call[m.ControlResult]:
        """Back to a checkpoint, same execution, paused there."""
        sent = body(api_v1.CheckpointRequest, checkpoint_id=checkpoint_id)
        path = _execution(execution_id, "/rollback")
        return Call("POST", path, model(m.ControlResult), json=sent)

    @paged
    def events(
        self, execution_id: str, *, after: int = 0, page_size: int = 100
    ) -> Call[Page[m.Event]]:
        read = body_page(model(api_v1.EventPage))
        params = {"after": after, "limit": page_size}
        return Call("GET", _execution(execution_id, "/events"), read, params=params)

    @streamed
    def stream(self, execution_id: str, *, last_event_id: str | None = None) -> Streamed[m.Event]:
        """Each event as it happens until the execution closes."""
        path = _execution(execution_id, "/stream")
        return Streamed(path, event_data(m.Event), last_event_id=last_event_id, final=closing)

    @paged
    def failures(
        self, *, workflow_id: str | None = None, page_size: int = 20
    ) -> Call[Page[m.Failure]]:
        """Failed and stuck executions, each with the actions that resolve it."""
        params = {"workflow_id": workflow_id, "limit": page_size}
        read = body_page(model(api_v1.FailurePage))
        return Call("GET", "/api/v1/failures", read, params=params)

    @paged
    def list(
        self,
        *,
        workflow_id: str | None = None,
        status: m.ExecutionStatus | str | None = None,
        page_size: int = 50,
    ) -> Call[Page[m.Execution]]:
        params = {"workflow_id": workflow_id, "status": status, "limit": page_size}
        read = body_page(model(api_v1.ExecutionPage))
        return Call("GET", "/api/v1/executions", read, params=params)


class Keys(Resource[TransportT]):
    """`/api/v1/keys`: the project's API keys (an admin key's calls)."""

    @request
    def create(self, scopes: Sequence[str], name: str | None = None) -> Call[m.KeyCreated]:
        sent = body(api_v1.KeyCreate, scopes=list(scopes), name=name)
        return Call("POST", "/api/v1/keys", model(m.KeyCreated), json=sent)

    @request
    def revoke(self, key_id: str) -> Call[m.Key]:
        return Call("DELETE", f"/api/v1/keys/{segment(key_id)}", model(m.Key))

    @request
    def rotate(self, key_id: str) -> Call[m.KeyCreated]:
        return Call("POST", f"/api/v1/keys/{segment(key_id)}/rotate", model(m.KeyCreated))

    @request
    def list(self) -> Call[list[m.Key]]:
        read = model(api_v1.KeyList)

        def items(response: httpx.Response) -> list[m.Key]:
            return read(response).items

        return Call("GET", "/api/v1/keys", items)
