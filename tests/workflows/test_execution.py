"""ExecutionWorkflow on a real dev server with an in-process worker."""

from __future__ import annotations

import uuid

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError

from ferryman import search_attributes as sa
from ferryman.settings import Settings
from ferryman.workflows import controls as c
from ferryman.workflows import models as m
from ferryman.workflows.execution import ExecutionWorkflow
from ferryman.workflows.memo import Key
from tests.support.activities import CALLS
from tests.support.executions import ExecutionHandle, start_execution
from tests.support.polling import eventually

pytestmark = pytest.mark.usefixtures("worker")


async def state(handle: ExecutionHandle) -> m.ExecutionState:
    return await handle.query(ExecutionWorkflow.state)


async def status_attribute(handle: ExecutionHandle) -> str | None:
    return (await handle.describe()).typed_search_attributes.get(sa.STATUS)


async def test_parallel_branches_transforms_and_output(
    temporal_client: Client, base_settings: Settings
) -> None:
    handle = await start_execution(
        temporal_client,
        base_settings,
        {
            "steps": [
                {"id": "left", "kind": "transform", "with": {"value": "{{ input.n * 2 }}"}},
                {"id": "right", "kind": "activity", "activity": "test.echo", "with": {"v": 3}},
                {
                    "id": "sum",
                    "kind": "transform",
                    "depends_on": ["left", "right"],
                    "with": {"value": "{{ steps.left.output + steps.right.output.v }}"},
                },
                {"id": "never", "kind": "transform", "if": "false", "with": {"value": 1}},
            ],
            "output": {"total": "{{ steps.sum.output }}", "skipped": "{{ steps.never.output }}"},
        },
        n=5,
    )
    result = await handle.result()
    assert result.status == "completed"
    assert result.output == {"total": 13, "skipped": None}
    description = await handle.describe()
    assert description.typed_search_attributes.get(sa.STATUS) == "completed"
    memo = await description.memo()
    index = memo[Key.CHECKPOINTS]
    assert [entry[0] for entry in index] == [0, 1, 2, 3, 4]
    assert index[0][1] == "start"
    assert sorted(entry[1] for entry in index[1:]) == ["left", "never", "right", "sum"]
    final = await state(handle)
    assert final.steps["never"].status == "skipped"


async def test_retries_are_driven_by_the_workflow_one_event_per_attempt(
    temporal_client: Client, base_settings: Settings
) -> None:
    handle = await start_execution(
        temporal_client,
        base_settings,
        {
            "steps": [
                {
                    "id": "flaky",
                    "kind": "activity",
                    "activity": "test.flaky",
                    "with": {"fail_times": 2, "value": "ok"},
                    "retry": {"max_attempts": 3, "backoff": "linear", "initial_delay_secs": 0.2},
                }
            ],
            "output": "{{ steps.flaky.output }}",
        },
    )
    result = await handle.result()
    assert result.output == {"value": "ok", "attempt": 3}
    assert CALLS[f"{handle.id}:flaky"] == 3
    events = [event async for event in handle.fetch_history_events()]
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled == ["flaky#1", "flaky#2", "flaky#3"]
    timers = [e for e in events if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED]
    # Linear backoff: 0.2 s before attempt 2, 0.4 s before attempt 3.
    assert [
        t.timer_started_event_attributes.start_to_fire_timeout.ToMilliseconds() for t in timers
    ] == [200, 400]


async def test_exhausted_retries_dead_letter_and_fatal_errors_fail_at_once(
    temporal_client: Client, base_settings: Settings
) -> None:
    retry = {"max_attempts": 2, "backoff": "fixed", "initial_delay_secs": 0.1}
    exhausted = await start_execution(
        temporal_client,
        base_settings,
        {
            "steps": [
                {
                    "id": "s",
                    "kind": "activity",
                    "activity": "test.flaky",
                    "with": {"fail_times": 5},
                    "retry": retry,
                }
            ]
        },
    )
    fatal = await start_execution(
        temporal_client,
        base_settings,
        {
            "steps": [
                {
                    "id": "s",
                    "kind": "activity",
                    "activity": "test.flaky",
                    "with": {"fatal": True},
                    "retry": retry,
                }
            ]
        },
    )
    for handle, status, calls in ((exhausted, "dead_letter", 2), (fatal, "failed", 1)):
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        assert await status_attribute(handle) == status
        assert CALLS[f"{handle.id}:s"] == calls
        memo = await (await handle.describe()).memo()
        assert memo[Key.ERROR]["step_id"] == "s"
        assert "planned failure" in memo[Key.ERROR]["error_cause"]


async def test_wait_consumes_a_signal_sent_before_it_is_reached(
    temporal_client: Client, base_settings: Settings
) -> None:
    handle = await start_execution(
        temporal_client,
        base_settings,
        {
            "steps": [
                {"id": "nap", "kind": "sleep", "with": {"seconds": 1}},
                {
                    "id": "approval",
                    "kind": "wait",
                    "depends_on": ["nap"],
                    "with": {"signal": "approve"},
                },
            ],
            "output": "{{ steps.approval.output }}",
        },
    )
    await handle.signal(
        ExecutionWorkflow.deliver, c.StepSignal(name="approve", payload={"by": "ada"})
    )
    result = await handle.result()
    assert result.output == {"by": "ada"}


async def test_pause_holds_between_steps_and_resume_continues(
    temporal_client: Client, base_settings: Settings
) -> None:
    handle = await start_execution(
        temporal_client,
        base_settings,
        {
            "steps": [
                {"id": "gate", "kind": "wait", "with": {"signal": "go"}},
                {
                    "id": "after",
                    "kind": "transform",
                    "depends_on": ["gate"],
                    "with": {"value": "done"},
                },
            ],
            "output": "{{ steps.after.output }}",
        },
    )
    await eventually(lambda: status_attribute(handle), lambda s: s == "waiting")
    await handle.signal(ExecutionWorkflow.pause_signal, c.ControlRequest())
    await handle.signal(ExecutionWorkflow.deliver, c.StepSignal(name="go"))
    paused = await eventually(
        lambda: state(handle), lambda s: s.steps["gate"].status == "completed"
    )
    assert paused.status == "paused"
    assert paused.steps["after"].status == "pending"
    assert await status_attribute(handle) == "paused"
    await handle.signal(ExecutionWorkflow.resume_signal, c.ControlRequest())
    result = await handle.result()
    assert result.output == "done"


async def test_cancellation_request_stops_in_flight_steps(
    temporal_client: Client, base_settings: Settings
) -> None:
    handle = await start_execution(
        temporal_client,
        base_settings,
        {
            "steps": [
                {
                    "id": "slow",
                    "kind": "activity",
                    "activity": "test.slow",
                    "heartbeat_secs": 2,
                    "with": {"seconds": 60},
                }
            ]
        },
    )
    await eventually(lambda: state(handle), lambda s: s.steps["slow"].status == "running")
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    description = await handle.describe()
    assert description.status is not None and description.status.name == "CANCELED"
    assert description.typed_search_attributes.get(sa.STATUS) == "canceled"


async def test_stop_signal_ends_as_cancelled(
    temporal_client: Client, base_settings: Settings
) -> None:
    handle = await start_execution(
        temporal_client,
        base_settings,
        {"steps": [{"id": "gate", "kind": "wait", "with": {"signal": "never"}}]},
    )
    await eventually(lambda: status_attribute(handle), lambda s: s == "waiting")
    await handle.signal(ExecutionWorkflow.stop_signal, c.ControlRequest())
    result = await handle.result()
    assert result.status == "canceled"
    assert await status_attribute(handle) == "canceled"


async def test_template_errors_fail_the_step_not_the_worker(
    temporal_client: Client, base_settings: Settings
) -> None:
    handle = await start_execution(
        temporal_client,
        base_settings,
        {"steps": [{"id": "bad", "kind": "transform", "with": {"value": "{{ input.nope.x }}"}}]},
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    memo = await (await handle.describe()).memo()
    assert memo[Key.ERROR]["error_type"] == "TemplateError"
    assert memo[Key.ERROR]["step_id"] == "bad"


async def test_a_rule_tightened_later_does_not_strand_a_running_execution(
    temporal_client: Client, base_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The input carries an inert snapshot: a worker that replays it after an upgrade whose
    DSL refuses the definition still decodes it, and the execution finishes."""
    from temporalio.worker import Worker
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

    from ferryman.worker import PASSTHROUGH_MODULES, WORKFLOWS
    from ferryman.workflows import dsl
    from ferryman.workflows.errors import DefinitionError

    settings = base_settings.model_copy(update={"task_queue": f"upgrade-{uuid.uuid4().hex}"})
    document = {
        "steps": [
            {"id": "gate", "kind": "wait", "with": {"signal": "go"}},
            {
                "id": "after",
                "kind": "transform",
                "depends_on": ["gate"],
                "with": {"value": "{{ steps.gate.output }}!"},
            },
        ],
        "output": "{{ steps.after.output }}",
    }
    # No workflow cache: every workflow task replays the history from the input on.
    worker = Worker(
        temporal_client,
        task_queue=settings.task_queue,
        workflows=list(WORKFLOWS),
        max_cached_workflows=0,
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
        ),
    )
    async with worker:
        handle = await start_execution(temporal_client, settings, document)
        await eventually(lambda: state(handle), lambda s: s.steps["gate"].status == "waiting")

        def refuse(definition: dsl.WorkflowDefinition) -> None:
            raise DefinitionError("a rule added after this execution started")

        monkeypatch.setattr(dsl, "check_definition", refuse)
        # The rule bites wherever a definition is validated (the old input shape was one)...
        described = await handle.fetch_history()
        started = described.events[0].workflow_execution_started_event_attributes
        carried = temporal_client.data_converter.payload_converter.from_payload(
            started.input.payloads[0]
        )
        carried["definition"].pop("snapshot_version")
        with pytest.raises(ValueError, match="a rule added after"):
            dsl.WorkflowDefinition.model_validate(carried["definition"])
        # ...but the execution replays from its snapshot and finishes.
        await handle.signal(ExecutionWorkflow.deliver, c.StepSignal(name="go", payload="ok"))
        result = await handle.result()
    assert result.status == "completed" and result.output == "ok!"


async def test_an_activity_that_never_heartbeats_outlives_its_heartbeat_timeout(
    temporal_client: Client, base_settings: Settings
) -> None:
    """The worker heartbeats for it while it runs: a 1 s heartbeat timeout does not fail a
    3 s attempt of a live worker."""
    handle = await start_execution(
        temporal_client,
        base_settings,
        {
            "defaults": {"heartbeat_secs": 1, "retry": {"max_attempts": 1}},
            "steps": [
                {
                    "id": "quiet",
                    "kind": "activity",
                    "activity": "test.quiet",
                    "with": {"seconds": 3},
                }
            ],
            "output": "{{ steps.quiet.output }}",
        },
    )
    result = await handle.result()
    assert result.output == {"slept": 3.0}
