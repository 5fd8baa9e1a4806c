"""The checkpoint log, the memo layout and the definition snapshot, without Temporal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ferryman.statuses import StepStatus
from ferryman.workflows import memo
from ferryman.workflows.checkpoints import START, Checkpoint, CheckpointLog, marker, step_delta
from ferryman.workflows.dsl import WorkflowDefinition
from ferryman.workflows.models import ExecutionInput
from ferryman.workflows.snapshot import SNAPSHOT_VERSION, DefinitionSnapshot

T0 = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
STEPS = {"a", "b", "c"}


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def completed(
    sequence: int, step_id: str, output: Any, activity_id: str | None = None
) -> Checkpoint:
    return step_delta(
        sequence,
        step_id,
        at(sequence),
        status=StepStatus.COMPLETED,
        attempts=1,
        started_at=at(sequence - 1),
        activity_id=activity_id,
        output=output,
    )


def three_steps() -> CheckpointLog:
    log = CheckpointLog()
    log.record(marker(0, START, at(0)))
    log.record(completed(1, "a", {"n": 1}))
    log.record(step_delta(2, "b", at(2), status=StepStatus.SKIPPED))
    log.record(completed(3, "c", "done", activity_id="c#2"))
    return log


def test_deltas_keep_the_recorded_shape() -> None:
    assert dict(marker(0, START, at(0)).delta) == {
        "sequence": 0,
        "step_id": "start",
        "created_at": at(0).isoformat(),
    }
    skipped = step_delta(2, "b", at(2), status=StepStatus.SKIPPED)
    assert dict(skipped.delta) == {
        "sequence": 2,
        "step_id": "b",
        "created_at": at(2).isoformat(),
        "status": "skipped",
    }
    # An activity's output is in history already: the delta names the activity instead.
    by_activity = completed(3, "c", "done", activity_id="c#2")
    assert by_activity.delta["activity_id"] == "c#2" and "output" not in by_activity.delta
    assert by_activity.output == "done"
    assert completed(1, "a", {"n": 1}).delta["output"] == {"n": 1}


def test_the_log_folds_outputs_and_statuses() -> None:
    log = three_steps()
    assert [c.sequence for c in log.in_force] == [0, 1, 2, 3]
    assert log.next_sequence == 4
    state = log.state_at(3, STEPS)
    assert state["outputs"] == {"a": {"n": 1}, "b": None, "c": "done"}
    assert state["steps"] == {"a": "completed", "b": "skipped", "c": "completed"}
    assert state["checkpoint"]["activity_id"] == "c#2"
    assert log.state_at(1, STEPS)["outputs"] == {"a": {"n": 1}}


def test_a_rollback_drops_later_checkpoints_and_sequences_only_grow() -> None:
    log = three_steps()
    log.record(marker(log.next_sequence, "rollback", at(4), rollback_to=1))
    assert [c.sequence for c in log.in_force] == [0, 1, 4]
    assert [c.step_id for c in log.steps(STEPS)] == ["a"]
    assert 3 not in log and 1 in log
    # What was in force before the rollback stays readable by its sequence.
    assert [c.sequence for c in log.in_force_at(3)] == [0, 1, 2, 3]
    log.record(completed(log.next_sequence, "b", "again"))
    assert [c.sequence for c in log.in_force] == [0, 1, 4, 5]
    assert log.state_at(5, STEPS)["outputs"] == {"a": {"n": 1}, "b": "again"}


def test_a_restored_run_carries_outputs_inline() -> None:
    source = three_steps()
    inline = [c.inline() for c in source.in_force_at(3)]
    assert inline[3]["output"] == "done"  # the activity's result travels with it
    restored = CheckpointLog()
    restored.restore(inline, next_sequence=4)
    assert restored.state_at(3, STEPS)["outputs"] == {"a": {"n": 1}, "b": None, "c": "done"}
    assert restored.next_sequence == 4


def test_the_memo_round_trips_and_elides_large_values() -> None:
    small, large = {"email": "ada@example.com"}, {"blob": "x" * 5000}
    raw = memo.start(
        workflow_name="Welcome",
        version=3,
        created_at=at(0),
        input_data=small,
        metadata=large,
        wait_signals=["approve"],
        index=[memo.IndexEntry(0, "start", at(0))],
    )
    raw |= memo.started(at(1)) | memo.failed(
        at(9), memo.ErrorRecord("dead_letter", "step 'a' failed", "a", "Http", 3)
    )
    decoded = memo.ExecutionMemo.decode(raw)
    assert decoded.workflow_name == "Welcome" and decoded.version == 3
    assert decoded.input == small
    assert memo.is_elided(decoded.metadata) and decoded.metadata["bytes"] > 5000
    assert decoded.index == [memo.IndexEntry(0, "start", at(0))]
    assert decoded.started_at == at(1) and decoded.completed_at == at(9)
    assert decoded.error == memo.ErrorRecord("dead_letter", "step 'a' failed", "a", "Http", 3)
    assert decoded.wait_signals == ["approve"]


def test_the_memo_keeps_one_key_per_finished_step() -> None:
    log = three_steps()
    raw = memo.start(
        workflow_name="Steps",
        version=1,
        created_at=at(0),
        input_data={},
        metadata={},
        wait_signals=[],
        index=[memo.IndexEntry(c.sequence, c.step_id, c.created_at) for c in log.in_force],
        steps={
            memo.step_key(c.step_id): memo.step_entry(c, "transform", limit=256)
            for c in log.in_force
            if c.is_step
        },
    )
    raw[memo.step_key("a")] = memo.step_entry(completed(1, "a", "x" * 300), "http", limit=256)
    decoded = memo.ExecutionMemo.decode(raw)
    assert decoded.keeps_step_outputs and sorted(decoded.steps) == ["a", "b", "c"]
    assert decoded.steps["a"]["output"] == {"_elided": True, "bytes": 302}
    assert decoded.steps["a"]["kind"] == "http" and decoded.steps["a"]["attempts"] == 1
    assert decoded.steps["b"]["status"] == "skipped" and decoded.steps["c"]["output"] == "done"
    # A rollback's upsert removes the keys of the steps it discards (None removes a key).
    assert memo.without_steps(["b", "c"]) == {"step.b": None, "step.c": None}
    # A memo written before step keys says so: its step outputs are read from history.
    older = {k: v for k, v in raw.items() if k != memo.Key.LAYOUT}
    assert not memo.ExecutionMemo.decode(older).keeps_step_outputs


def definition_document() -> dict[str, Any]:
    return {
        "name": "Snap",
        "defaults": {"retry": {"max_attempts": 4, "backoff": "linear"}},
        "steps": [
            {"id": "a", "kind": "transform", "with": {"value": 1}, "if": "true"},
            {"id": "b", "kind": "wait", "with": {"signal": "go"}, "depends_on": ["a"]},
        ],
    }


def test_the_snapshot_is_inert_and_versioned() -> None:
    snapshot = DefinitionSnapshot.of(WorkflowDefinition.model_validate(definition_document()))
    assert snapshot.snapshot_version == SNAPSHOT_VERSION
    assert snapshot.retry_for(snapshot.step("b")).max_attempts == 4
    assert snapshot.wait_signals() == {"go"}
    # Decoding never validates: what no definition may say today still decodes.
    loose = snapshot.model_dump(by_alias=True) | {"id": "NOT A SLUG!", "steps": []}
    assert DefinitionSnapshot.model_validate(loose).id == "NOT A SLUG!"
    with pytest.raises(ValueError):
        WorkflowDefinition.model_validate(loose)


def test_an_input_recorded_before_snapshots_decodes() -> None:
    """Version 1: the input carried the validated definition itself, dumped by alias."""
    old = WorkflowDefinition.model_validate(definition_document()).model_dump(
        mode="json", by_alias=True
    )
    params = ExecutionInput.model_validate(
        {
            "execution_id": "exec_1",
            "project_id": "p",
            "workflow_id": "snap",
            "workflow_name": "Snap",
            "version": 1,
            "definition": old,
        }
    )
    assert params.definition.snapshot_version == 1
    assert [step.if_ for step in params.definition.steps] == ["true", None]
    assert params.definition.step("b").with_ == {"signal": "go"}
