"""Checkpoints, and the two ways back to one: replay (a new execution) and rollback (the same).

Everything is folded from the history, so it works for finished executions with no worker.
Rollback of an open execution happens inside the workflow (an update: `control`); of a
closed one, by a new run under the same id that starts paused with the checkpoint's state
(not Temporal's reset, which re-runs later steps at once). The superseded run is then
deleted, so lists and counts keep one row per execution.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution as ProtoExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest

from ferryman.api.codes import ErrorCode
from ferryman.api.errors import (
    ApiError,
    InvalidState,
    checkpoint_not_found,
    execution_not_found,
)
from ferryman.api.executions.control import ExecutionControl
from ferryman.api.executions.history import FoldedHistory
from ferryman.api.executions.ids import checkpoint_sequence, new_execution_id
from ferryman.api.executions.launch import (
    Launched,
    Launcher,
    LaunchRequest,
    Lineage,
    Overrides,
)
from ferryman.api.executions.reader import Described, ExecutionReader
from ferryman.api.executions.view import CheckpointView, ExecutionView
from ferryman.statuses import TERMINAL_STATUSES, Status
from ferryman.workflows import models as m


@dataclass(frozen=True)
class CheckpointState:
    """One checkpoint with the whole state at that point (`input`, `outputs`, `steps`)."""

    checkpoint: CheckpointView
    state: dict[str, Any]


class Restorer:
    def __init__(
        self, reader: ExecutionReader, launcher: Launcher, control: ExecutionControl
    ) -> None:
        self.reader = reader
        self.launcher = launcher
        self.control = control

    async def checkpoint(
        self, project_id: str, execution_id: str, checkpoint_id: str
    ) -> CheckpointState:
        described = await self.reader.describe(project_id, execution_id)
        sequence = checkpoint_sequence(execution_id, checkpoint_id)
        folded = await self.reader.fold(described.handle)
        if sequence not in folded.log.history:
            raise checkpoint_not_found()
        recorded, _ = folded.log.history[sequence]
        view = CheckpointView(checkpoint_id, sequence, recorded.step_id, recorded.created_at)
        return CheckpointState(view, folded.state_at(sequence))

    async def replay(
        self,
        project_id: str,
        execution_id: str,
        checkpoint_id: str | None,
        created_by: str | None = None,
    ) -> Launched:
        """A new execution from a checkpoint's state (or from the start), linked to its source
        (`continuation_of`, one deeper in the lineage, `triggered_by: retry`)."""
        described = await self.reader.describe(project_id, execution_id)
        folded = await self.reader.fold(described.handle)
        restored = None
        if checkpoint_id is not None:
            sequence = checkpoint_sequence(execution_id, checkpoint_id)
            restored = _restored(folded, "replay", execution_id, sequence)
        view = described.view
        lineage = Lineage(
            triggered_by="retry", continuation_of=execution_id, depth=view.lineage_depth + 1
        )
        source = _params(folded)
        params = source.model_copy(
            update={
                "execution_id": new_execution_id(),
                "restored": restored,
                # A new run of its own: in no batch, admitted again from the start.
                "run": _settings(source, view).model_copy(update={"batch_id": None}),
            }
        )
        return await self.launcher.start(params, lineage, run=_run(view, created_by=created_by))

    async def restart(
        self,
        project_id: str,
        execution_id: str,
        *,
        preset: str | None,
        payload: dict[str, Any] | None,
        version: int | None,
        created_by: str | None,
    ) -> Launched:
        """A new run of the same job from the start: the source's payload, or a preset of
        the job's with `payload` over it, or `payload`; the source's version unless
        `version` says otherwise. Linked to its source like a replay."""
        described = await self.reader.describe(project_id, execution_id)
        view = described.view
        chosen = version or view.version
        start: dict[str, Any] = {}
        if preset is not None:
            resolved = await self.launcher.definitions.resolve(project_id, view.workflow_id, chosen)
            presets = resolved.parsed.definition.presets
            if preset not in presets:
                names = ", ".join(sorted(presets)) or "none"
                raise ApiError(
                    f"job {view.workflow_id!r} has no preset {preset!r} (it has: {names})",
                    ErrorCode.VALIDATION_ERROR,
                )
            start = dict(presets[preset])
        elif payload is None:
            start = dict(await self.reader.payload_of(described.description) or {})
        request = replace(
            _carried(view),
            input={**start, **(payload or {})},
            version=chosen,
            created_by=created_by,
            triggered_by="retry",
            continuation_of=view.id,
            lineage_depth=view.lineage_depth + 1,
        )
        return await self.launcher.launch(request, new_execution_id())

    async def redrive(self, project_id: str, execution_id: str) -> None:
        """A dead-lettered run again from its last checkpoint, under the same id: completed
        steps do not run again, the failed one starts over (409 unless dead-lettered)."""
        described = await self.reader.describe(project_id, execution_id)
        status = described.view.status
        if status != Status.DEAD_LETTER:
            raise InvalidState(
                "run is {status}; only a dead-lettered run can be redriven",
                status,
                ErrorCode.RUN_NOT_DEAD_LETTERED,
            )
        folded = await self.reader.fold(described.handle)
        last = folded.log.in_force[-1].sequence
        await self._rerun_in_place(described, folded, last, "redrive", paused=False)

    async def rollback(self, project_id: str, execution_id: str, checkpoint_id: str) -> Status:
        """Back to a checkpoint, same id, paused there; later state is discarded."""
        described = await self.reader.describe(project_id, execution_id)
        sequence = checkpoint_sequence(execution_id, checkpoint_id)
        if described.view.status not in TERMINAL_STATUSES:
            if sequence not in {c.sequence for c in described.view.checkpoints}:
                raise checkpoint_not_found()
            return (await self.control.rollback(described, sequence)).status
        folded = await self.reader.fold(described.handle)
        await self._rerun_in_place(described, folded, sequence, "rollback", paused=True)
        return Status.PAUSED

    async def _rerun_in_place(
        self,
        described: Described,
        folded: FoldedHistory,
        sequence: int,
        label: str,
        paused: bool,
    ) -> None:
        """A closed run again under the same id from checkpoint `sequence` (paused there for
        a rollback); the old run is deleted. The new run carries every checkpoint it keeps,
        its attributes and its trigger's record, so nothing it shows is lost."""
        restored = _restored(folded, label, described.view.id, sequence)
        restored.paused = paused
        restored.next_sequence = folded.log.next_sequence
        # Event ids continue after this run's, whose history the new run does not have.
        earlier = folded.params.restored if folded.params else None
        info = described.description.raw_description.workflow_execution_info
        restored.event_base = (earlier.event_base if earlier else 0) + info.history_length
        view = described.view
        lineage = Lineage(
            triggered_by=view.triggered_by or "manual",
            continuation_of=view.continuation_of,
            depth=view.lineage_depth,
            created_at=view.created_at,
        )
        source = _params(folded)
        # A cron run's input names its schedule's id; the run's own id has the firing time.
        update = {"execution_id": view.id, "restored": restored, "run": _settings(source, view)}
        await self.launcher.start(
            source.model_copy(update=update),
            lineage,
            rollback=True,
            run=_run(view),
            supersedes=described.description.run_id,
        )
        client = self.reader.client
        await client.workflow_service.delete_workflow_execution(
            DeleteWorkflowExecutionRequest(
                namespace=client.namespace,
                workflow_execution=ProtoExecution(
                    workflow_id=described.description.id, run_id=described.description.run_id
                ),
            )
        )


def _params(folded: FoldedHistory) -> m.ExecutionInput:
    if folded.params is None:  # a history always starts with the input; never seen otherwise
        raise execution_not_found()
    return folded.params


def _carried(view: ExecutionView) -> LaunchRequest:
    """What a run's own attributes carry to the runs that continue it."""
    return LaunchRequest(
        project_id=view.project_id,
        workflow_id=view.workflow_id,
        metadata=view.metadata,
        tags=view.run.tags,
        priority=view.priority,
        batch_id=view.batch_id,
        created_by=view.run.created_by,
        debug_mode=view.debug_mode,
        overrides=Overrides(
            max_attempts=view.run.overrides.get("max_attempts"),
            timeout_secs=view.run.overrides.get("timeout_secs"),
            retry_backoff=view.run.overrides.get("retry_backoff"),
            retry_initial_delay_secs=view.run.overrides.get("retry_initial_delay_secs"),
            retry_max_delay_secs=view.run.overrides.get("retry_max_delay_secs"),
        ),
    )


def _settings(params: m.ExecutionInput, view: ExecutionView) -> m.RunSettings:
    """The run settings a continuing run keeps: its source's, or for a source started
    before runs carried them, what its attributes say."""
    if params.run is not None:
        return params.run
    return m.RunSettings(priority=view.priority, tags=view.run.tags, batch_id=view.batch_id)


def _run(view: ExecutionView, **changes: Any) -> dict[str, Any]:
    """The memo's trigger record for a run that continues `view` (same settings)."""
    return {**view.run.encode(), **changes}


def _restored(folded: FoldedHistory, label: str, source: str, sequence: int) -> m.RestoredState:
    if sequence not in folded.log.history:
        raise checkpoint_not_found()
    return folded.restored(label, source, sequence)


async def check_replayable(restorer: Restorer, project_id: str, run_id: str) -> None:
    """Whether a replay of the run would start: it exists in the project, has finished, and
    its job takes new runs (an `ApiError` saying why not)."""
    view = (await restorer.reader.describe(project_id, run_id)).view
    if view.status not in TERMINAL_STATUSES:
        raise InvalidState(
            "{status}; only a finished run can be replayed",
            view.status,
            ErrorCode.RUN_NOT_FINISHED,
        )
    await restorer.launcher.admit(project_id, view.workflow_id, view.version)
