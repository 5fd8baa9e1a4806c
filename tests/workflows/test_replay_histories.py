"""Recorded histories of ExecutionWorkflow replay without non-determinism.

Executions that are running when a new version is deployed are replayed by the new code;
a change to ExecutionWorkflow that would break them fails here. The histories under
tests/workflows/histories were recorded from real runs; to record the scenario of a new path
(after a deliberate, versioned change to the workflow), run

    FERRYMAN_RECORD_HISTORIES=1 .venv/bin/pytest \
        "tests/workflows/test_replay_histories.py::test_record_history[<scenario>]"

Re-record only new scenarios: the others are what running executions look like (see
tests/README.md).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowHistory

from ferryman.api.store import db, repository
from ferryman.settings import Settings
from ferryman.worker import build_replayer
from ferryman.workflows import controls as c
from ferryman.workflows import models as m
from ferryman.workflows.execution import ExecutionWorkflow
from ferryman.workflows.gate import gate_id
from tests.support.executions import ExecutionHandle, start_execution
from tests.support.llm_server import LlmServer, Reply, ToolCall
from tests.support.polling import eventually

HISTORIES = Path(__file__).resolve().parent / "histories"
RECORD = os.environ.get("FERRYMAN_RECORD_HISTORIES") == "1"
MAX_HISTORY_BYTES = 100 * 1024


# ---- the scenarios (used only when recording) ----------------------------------------


async def start(
    client: Client,
    settings: Settings,
    name: str,
    document: dict[str, Any],
    run: m.RunSettings | None = None,
) -> ExecutionHandle:
    return await start_execution(
        client,
        settings,
        {"name": name, **document},
        execution_id=f"exec_history_{name}_{uuid.uuid4().hex[:8]}",
        project_id="default",
        workflow_id=f"history-{name}",
        run=run,
        n=5,
        who="ada",
    )


async def state(handle: ExecutionHandle) -> m.ExecutionState:
    return await handle.query(ExecutionWorkflow.state)


def step_is(step_id: str, status: str) -> Callable[[m.ExecutionState], bool]:
    return lambda s: s.steps[step_id].status == status


async def graph(client: Client, settings: Settings) -> ExecutionHandle:
    """transform, a retried activity, a short sleep, a skipped `if`, and the output."""
    handle = await start(
        client,
        settings,
        "graph",
        {
            "steps": [
                {"id": "double", "kind": "transform", "with": {"value": "{{ input.n * 2 }}"}},
                {
                    "id": "flaky",
                    "kind": "activity",
                    "activity": "test.flaky",
                    "with": {"fail_times": 1, "value": "ok"},
                    "retry": {"max_attempts": 2, "backoff": "linear", "initial_delay_secs": 0.1},
                },
                {"id": "nap", "kind": "sleep", "with": {"seconds": 0.2}},
                {"id": "never", "kind": "transform", "if": "false", "with": {"value": 1}},
                {
                    "id": "sum",
                    "kind": "transform",
                    "depends_on": ["double", "flaky", "nap", "never"],
                    "with": {"value": "{{ steps.double.output }}-{{ steps.flaky.output.value }}"},
                },
            ],
            "output": {"sum": "{{ steps.sum.output }}", "never": "{{ steps.never.output }}"},
        },
    )
    result = await handle.result()
    assert result.status == "completed" and result.output == {"sum": "10-ok", "never": None}
    return handle


async def signals(client: Client, settings: Settings) -> ExecutionHandle:
    """A wait step released by a signal delivered while paused, then resume."""
    handle = await start(
        client,
        settings,
        "signals",
        {
            "steps": [
                {"id": "gate", "kind": "wait", "with": {"signal": "approve"}},
                {
                    "id": "after",
                    "kind": "transform",
                    "depends_on": ["gate"],
                    "with": {"value": "by {{ steps.gate.output.by }}"},
                },
            ],
            "output": "{{ steps.after.output }}",
        },
    )
    await eventually(lambda: state(handle), step_is("gate", "waiting"))
    await handle.signal(ExecutionWorkflow.pause_signal, c.ControlRequest(reason="look first"))
    await handle.signal(
        ExecutionWorkflow.deliver, c.StepSignal(name="approve", payload={"by": "ada"})
    )
    paused = await eventually(lambda: state(handle), step_is("gate", "completed"))
    assert paused.status == "paused" and paused.steps["after"].status == "pending"
    await handle.signal(ExecutionWorkflow.resume_signal, c.ControlRequest())
    result = await handle.result()
    assert result.output == "by ada"
    return handle


async def signals_named(client: Client, settings: Settings) -> ExecutionHandle:
    """Under the definition's own type: a sleep and a wait with a timeout record what they
    wait on; the event arrives as a signal of its own name while paused."""
    handle = await start(
        client,
        settings,
        "signals_named",
        {
            "steps": [
                {"id": "nap", "kind": "sleep", "with": {"seconds": 0.2}},
                {
                    "id": "gate",
                    "kind": "wait",
                    "depends_on": ["nap"],
                    "with": {"signal": "approve"},
                    "timeout_secs": 600,
                },
                {
                    "id": "after",
                    "kind": "transform",
                    "depends_on": ["gate"],
                    "with": {"value": "by {{ steps.gate.output.by }}"},
                },
            ],
            "output": "{{ steps.after.output }}",
        },
    )
    await eventually(lambda: state(handle), step_is("gate", "waiting"))
    await handle.signal(ExecutionWorkflow.pause_signal, c.ControlRequest(reason="look first"))
    await handle.signal("approve", {"by": "ada"})
    paused = await eventually(lambda: state(handle), step_is("gate", "completed"))
    assert paused.status == "paused" and paused.steps["after"].status == "pending"
    await handle.signal(ExecutionWorkflow.resume_signal, c.ControlRequest())
    result = await handle.result()
    assert result.output == "by ada"
    return handle


async def debugged_named(client: Client, settings: Settings) -> ExecutionHandle:
    """Since run management: `dequeued` (patched), a trace in the memo, debug mode switched
    on by its signal while a step waits, step inputs in checkpoints from then on."""
    handle = await start(
        client,
        settings,
        "debugged_named",
        {
            "steps": [
                {"id": "first", "kind": "activity", "activity": "test.echo", "with": {"n": 1}},
                {"id": "gate", "kind": "wait", "depends_on": ["first"], "with": {"signal": "go"}},
                {
                    "id": "last",
                    "kind": "transform",
                    "depends_on": ["gate"],
                    "with": {"value": "{{ steps.first.output.n + 1 }}"},
                },
            ],
            "output": "{{ steps.last.output }}",
        },
    )
    await eventually(lambda: state(handle), step_is("gate", "waiting"))
    await handle.signal(ExecutionWorkflow.debug_signal, c.DebugRequest(enabled=True))
    await handle.signal("go", None)
    result = await handle.result()
    assert result.output == 2
    return handle


async def admitted_named(client: Client, settings: Settings) -> ExecutionHandle:
    """Since scheduling: delayed, rescheduled sooner, queued for a slot of a concurrency gate
    (limit 1), granted, run, and the slot released at the close."""
    handle = await start(
        client,
        settings,
        "admitted_named",
        {"steps": [{"id": "echo", "kind": "transform", "with": {"value": "{{ input.n }}"}}]},
        run=m.RunSettings(
            priority=3,
            scheduled_at=datetime.now(UTC) + timedelta(hours=1),
            expires_at=datetime.now(UTC) + timedelta(hours=2),
            concurrency=m.ConcurrencySlot(key=f"history-{uuid.uuid4().hex[:8]}", limit=1),
        ),
    )
    await eventually(lambda: state(handle), lambda s: s.status == "delayed")
    soon = datetime.now(UTC) + timedelta(seconds=0.5)
    await handle.signal(ExecutionWorkflow.reschedule_signal, c.RescheduleRequest(scheduled_at=soon))
    result = await handle.result()
    assert result.status == "completed"
    return handle


async def spawned_named(client: Client, settings: Settings) -> ExecutionHandle:
    """Since child runs: a `workflow` step whose child (a job in the store) completes."""
    child = f"history-child-{uuid.uuid4().hex[:8]}"
    document = {
        "id": child,
        "name": "Child",
        "steps": [{"id": "twice", "kind": "transform", "with": {"value": "{{ input.n * 2 }}"}}],
        "output": "{{ steps.twice.output }}",
    }
    async with db.open_store(settings.resolved_database_url) as store, store.sessions() as session:
        await repository.ensure_project(session, "default")
        await repository.create_workflow(session, "default", child, "Child", document)
    handle = await start(
        client,
        settings,
        "spawned_named",
        {
            "steps": [
                {
                    "id": "spawn",
                    "kind": "workflow",
                    "workflow": child,
                    "with": {"n": "{{ input.n }}"},
                }
            ],
            "output": "{{ steps.spawn.output }}",
        },
        run=m.RunSettings(),
    )
    result = await handle.result()
    assert result.output == 10
    return handle


# The session's OpenAI-compatible server, for the one scenario that calls a model (set by
# `test_record_history`, which has it as a fixture).
LLM: list[LlmServer] = []


async def llm_named(client: Client, settings: Settings) -> ExecutionHandle:
    """Since AI steps: a streamed model call that asks for a tool (a user activity), then a
    structured answer that is repaired once."""
    [server] = LLM
    model = server.script(
        [
            Reply(tool_calls=[ToolCall("test_echo", {"city": "Oslo"})]),
            Reply(content='{"answer": 1}'),
            Reply(content='{"answer": "Oslo"}'),
        ]
    )
    schema = {
        "type": "object",
        "required": ["answer"],
        "properties": {"answer": {"type": "string"}},
    }
    handle = await start(
        client,
        settings,
        "llm_named",
        {
            "steps": [
                {
                    "id": "answer",
                    "kind": "llm",
                    "with": {
                        "model": model,
                        "messages": [{"role": "user", "content": "where?"}],
                        "stream": True,
                        "tools": ["test.echo"],
                        "output_schema": schema,
                    },
                }
            ],
            "output": "{{ steps.answer.output }}",
        },
        run=m.RunSettings(),
    )
    result = await handle.result()
    assert result.output == {"answer": "Oslo"}
    return handle


async def rollback(client: Client, settings: Settings) -> ExecutionHandle:
    """In-place rollback to the checkpoint after the first step, then resume and finish."""
    handle = await start(
        client,
        settings,
        "rollback",
        {
            "steps": [
                {"id": "first", "kind": "transform", "with": {"value": "{{ input.who }}"}},
                {
                    "id": "second",
                    "kind": "transform",
                    "depends_on": ["first"],
                    "with": {"value": "second of {{ steps.first.output }}"},
                },
                {
                    "id": "gate",
                    "kind": "wait",
                    "depends_on": ["second"],
                    "with": {"signal": "go"},
                },
            ],
            "output": {"second": "{{ steps.second.output }}", "gate": "{{ steps.gate.output }}"},
        },
    )
    before = await eventually(lambda: state(handle), step_is("gate", "waiting"))
    first = next(c.sequence for c in before.checkpoints if c.step_id == "first")
    await handle.signal(ExecutionWorkflow.rollback_signal, c.RollbackRequest(sequence=first))
    rolled = await eventually(lambda: state(handle), lambda s: s.paused)
    assert rolled.steps["second"].status == "pending"
    assert rolled.steps["first"].status == "completed"
    await handle.signal(ExecutionWorkflow.resume_signal, c.ControlRequest())
    await eventually(lambda: state(handle), step_is("gate", "waiting"))
    await handle.signal(ExecutionWorkflow.deliver, c.StepSignal(name="go", payload=2))
    result = await handle.result()
    assert result.output == {"second": "second of ada", "gate": 2}
    return handle


async def stop(client: Client, settings: Settings) -> ExecutionHandle:
    """A stop signal while a step waits: the execution ends canceled."""
    handle = await start(
        client,
        settings,
        "stop",
        {
            "steps": [
                {"id": "done", "kind": "transform", "with": {"value": 1}},
                {"id": "gate", "kind": "wait", "with": {"signal": "never"}},
            ],
        },
    )
    await eventually(lambda: state(handle), step_is("gate", "waiting"))
    await handle.signal(ExecutionWorkflow.stop_signal, c.ControlRequest(reason="enough"))
    result = await handle.result()
    assert result.status == "canceled"
    return handle


async def llm_failed_named(client: Client, settings: Settings) -> ExecutionHandle:
    """Since failed steps' usage counts: a structured answer that stays invalid after its
    repair fails the run, whose memo carries the two calls' usage (`failed-step-usage`)."""
    [server] = LLM
    model = server.script([Reply(content="not json"), Reply(content="still not json")])
    handle = await start(
        client,
        settings,
        "llm_failed_named",
        {
            "steps": [
                {
                    "id": "answer",
                    "kind": "llm",
                    "with": {
                        "model": model,
                        "messages": [{"role": "user", "content": "where?"}],
                        "output_schema": {"type": "object"},
                    },
                }
            ],
        },
        run=m.RunSettings(),
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    return handle


GATED_TWICE = {
    "steps": [
        {"id": "first", "kind": "activity", "activity": "test.echo", "with": {"n": 1}},
        {"id": "gate", "kind": "wait", "depends_on": ["first"], "with": {"signal": "approve"}},
        {
            "id": "after",
            "kind": "transform",
            "depends_on": ["gate"],
            "with": {"value": "by {{ steps.gate.output.by }}"},
        },
    ],
    "output": "{{ steps.after.output }}",
}


async def controls_named(client: Client, settings: Settings) -> ExecutionHandle:
    """Since controls are updates: pause, an event as an update of its own name, debug,
    resume, a rollback to the first step's checkpoint (answered once applied), resume, the
    event again; each answered with the state after it."""
    held = {
        "steps": [
            *GATED_TWICE["steps"],
            {"id": "hold", "kind": "wait", "depends_on": ["after"], "with": {"signal": "finish"}},
        ],
        "output": GATED_TWICE["output"],
    }
    handle = await start(client, settings, "controls_named", held)
    waiting = await eventually(lambda: state(handle), step_is("gate", "waiting"))
    first = next(ref.sequence for ref in waiting.checkpoints if ref.step_id == "first")
    paused = await handle.execute_update(ExecutionWorkflow.pause, c.ControlRequest())
    assert (paused.status, paused.paused) == ("paused", True)
    await handle.execute_update("approve", c.StepSignal(payload={"by": "ada"}))
    await handle.execute_update(ExecutionWorkflow.debug, c.DebugRequest(enabled=True))
    resumed = await handle.execute_update(ExecutionWorkflow.resume, c.ControlRequest())
    assert not resumed.paused
    await eventually(lambda: state(handle), step_is("hold", "waiting"))
    rolled = await handle.execute_update(
        "rollback", c.RollbackRequest(sequence=first), result_type=c.ControlOutcome
    )
    assert rolled.status == "paused"
    await handle.execute_update(ExecutionWorkflow.resume, c.ControlRequest())
    await handle.execute_update("approve", c.StepSignal(payload={"by": "bob"}))
    await handle.execute_update("finish", c.StepSignal())
    result = await handle.result()
    assert result.output == "by bob"
    return handle


async def canceled_named(client: Client, settings: Settings) -> ExecutionHandle:
    """A stop as the API sends it: Temporal's cancellation request, while a step waits."""
    handle = await start(client, settings, "canceled_named", GATED_TWICE)
    await eventually(lambda: state(handle), step_is("gate", "waiting"))
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    return handle


HTTP: list[str] = []  # the http target's base URL, while recording


async def engine2_named(client: Client, settings: Settings) -> ExecutionHandle:
    """Since engine 2: http steps as local activities (one failing once, retried after a
    timer), a regular activity, a wait released by an update, a concurrency slot entered by
    a local activity; the books written once per workflow task."""
    [target] = HTTP
    handle = await start(
        client,
        settings,
        "engine2_named",
        {
            "steps": [
                {"id": "ping", "kind": "http", "with": {"url": f"{target}/healthz"}},
                {
                    "id": "flaky",
                    "kind": "http",
                    "depends_on": ["ping"],
                    # The first call hangs past the request's timeout: retried.
                    "with": {
                        "url": f"{target}/once-slow/{uuid.uuid4().hex}?secs=3",
                        "timeout_secs": 1,
                    },
                    "retry": {"max_attempts": 2, "backoff": "fixed", "initial_delay_secs": 0.1},
                },
                {"id": "echo", "kind": "activity", "activity": "test.echo", "with": {"n": 1}},
                {
                    "id": "gate",
                    "kind": "wait",
                    "depends_on": ["flaky", "echo"],
                    "with": {"signal": "go"},
                },
                {
                    "id": "pong",
                    "kind": "http",
                    "depends_on": ["gate"],
                    "with": {"url": f"{target}/healthz"},
                },
            ],
            "output": "{{ steps.pong.output.status }}",
        },
        run=m.RunSettings(
            concurrency=m.ConcurrencySlot(key=f"history-{uuid.uuid4().hex[:8]}", limit=1),
        ),
    )
    await eventually(lambda: state(handle), step_is("gate", "waiting"))
    await handle.execute_update("go", c.StepSignal(payload={"by": "ada"}))
    result = await handle.result()
    assert result.status == "completed" and result.output == 200, result
    return handle


async def gate_batched(client: Client, settings: Settings) -> WorkflowHandle[Any, Any]:
    """Since batched grants: a gate (limit 2) that grants two runs in one workflow task,
    then the third when one releases; stopped by a terminate (it idles a minute)."""
    key = f"history-{uuid.uuid4().hex[:8]}"
    document = {"steps": [{"id": "nap", "kind": "sleep", "with": {"seconds": 0.3}}]}
    slot = m.RunSettings(concurrency=m.ConcurrencySlot(key=key, limit=2))
    runs = [
        await start(client, settings, f"gate_batched_{n}", document, run=slot) for n in range(3)
    ]
    for run in runs:
        assert (await run.result()).status == "completed"
    gate = client.get_workflow_handle(gate_id("default", key))
    await gate.terminate("recorded")
    return gate


async def failed(client: Client, settings: Settings) -> ExecutionHandle:
    """A non-retryable activity failure fails the execution."""
    handle = await start(
        client,
        settings,
        "failed",
        {
            "steps": [
                {
                    "id": "boom",
                    "kind": "activity",
                    "activity": "test.flaky",
                    "with": {"fatal": True, "value": "never"},
                    "retry": {"max_attempts": 3, "initial_delay_secs": 0.1},
                }
            ],
        },
    )
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    return handle


SCENARIOS: dict[str, Callable[[Client, Settings], Awaitable[WorkflowHandle[Any, Any]]]] = {
    # Recorded before the inert definition snapshot (the input carried the definition):
    # executions started then must keep replaying.
    "graph": graph,
    "signals": signals,
    "rollback": rollback,
    "stop": stop,
    "failed": failed,
    # The input carries a `DefinitionSnapshot` (snapshot_version 2).
    "graph_snapshot_v2": graph,
    "signals_snapshot_v2": signals,
    # Each execution under its definition's id (NamedExecutionWorkflow), with the
    # `waiting-on-marker` patch and events for `wait` steps sent under their own names.
    "graph_named": graph,
    "signals_named": signals_named,
    "rollback_named": rollback,
    # Since run management: dequeued, the trace, debug mode.
    "debugged_named": debugged_named,
    # Since scheduling and coordination: admission (delay, reschedule, a gate's slot) and a
    # child run.
    "admitted_named": admitted_named,
    "spawned_named": spawned_named,
    # Since AI steps: model calls, a tool call, a repair, a hosted workflow stream.
    "llm_named": llm_named,
    # Since a failed llm step's usage counts in the run's total.
    "llm_failed_named": llm_failed_named,
    # Since controls are updates (validated by the run, answered with its state), and a
    # stop is Temporal's cancellation request.
    "controls_named": controls_named,
    "canceled_named": canceled_named,
    # Since engine 2 (local http steps, coalesced books) and batched grants of a gate.
    "engine2_named": engine2_named,
    "gate_batched": gate_batched,
}


@pytest.mark.skipif(not RECORD, reason="set FERRYMAN_RECORD_HISTORIES=1 to record histories")
@pytest.mark.usefixtures("worker")
@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_record_history(
    temporal_client: Client,
    base_settings: Settings,
    llm_server: LlmServer,
    http_target: str,
    name: str,
) -> None:
    LLM[:] = [llm_server]
    HTTP[:] = [http_target]
    handle = await SCENARIOS[name](temporal_client, base_settings)
    history = await handle.fetch_history()
    text = history.to_json()
    assert len(text.encode()) < MAX_HISTORY_BYTES, (name, len(text))
    HISTORIES.mkdir(exist_ok=True)
    (HISTORIES / f"{name}.json").write_text(text + "\n")


# ---- the check (always) --------------------------------------------------------------


def test_every_scenario_has_a_committed_small_history() -> None:
    files = {path.stem for path in HISTORIES.glob("*.json")}
    assert set(SCENARIOS) <= files, f"missing histories: {sorted(set(SCENARIOS) - files)}"
    for path in HISTORIES.glob("*.json"):
        assert path.stat().st_size < MAX_HISTORY_BYTES, path
        events = json.loads(path.read_text())["events"]
        assert events[0]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED", path
        assert events[-1]["eventType"].startswith("EVENT_TYPE_WORKFLOW_EXECUTION_"), path


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_history_replays_without_nondeterminism(name: str) -> None:
    path = HISTORIES / f"{name}.json"
    if not path.exists():
        pytest.fail(f"{path} is missing; record it with FERRYMAN_RECORD_HISTORIES=1")
    text = path.read_text()
    # A gate reads its project and key from its own id.
    workflow_id = gate_id("default", name) if name.startswith("gate") else f"history-{name}"
    history = WorkflowHistory.from_json(workflow_id, text)
    result = await build_replayer().replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None, result.replay_failure
