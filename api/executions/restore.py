"""Checkpoints, and the two ways back to one: replay (a new execution) and rollback (the same).

Everything is folded from the history, so it works for finished executions with no worker.
Rollback of an open execution happens inside the workflow (a signal); of a closed one, by a
new run under the same id that starts paused with the checkpoint's state (not Temporal's
reset, which re-runs later steps at once). The superseded run is then deleted, so lists and
counts keep one row per execution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from temporalio.api.common.v1 import WorkflowExecution as ProtoExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest

from ferryman.api.codes import ErrorCode
from ferryman.api.errors import NotFound, execution_not_found
from ferryman.api.executions.control import signal
from ferryman.api.executions.history import FoldedHistory
from ferryman.api.executions.ids import checkpoint_sequence, new_execution_id
from ferryman.api.executions.launch import Launched, Launcher, Lineage
from ferryman.api.executions.reader import Described, ExecutionReader
from ferryman.api.executions.view import CheckpointView
from ferryman.statuses import TERMINAL_STATUSES, Status
from ferryman.workflows import models as m
from ferryman.workflows.execution import ExecutionWorkflow


def checkpoint_not_found() -> NotFound:
    return NotFound("checkpoint not found", ErrorCode.CHECKPOINT_NOT_FOUND)


@dataclass(frozen=True)
class CheckpointState:
    """One checkpoint with the whole state at that point (`input`, `outputs`, `steps`)."""

    checkpoint: CheckpointView
    state: dict[str, Any]


class Restorer:
    def __init__(self, reader: ExecutionReader, launcher: Launcher) -> None:
        self.reader = reader
        self.launcher = launcher

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
        self, project_id: str, execution_id: str, checkpoint_id: str | None
    ) -> Launched:
        """A new execution from a checkpoint's state (or from the start), linked to its source."""
        described = await self.reader.describe(project_id, execution_id)
        folded = await self.reader.fold(described.handle)
        restored = None
        if checkpoint_id is not None:
            sequence = checkpoint_sequence(execution_id, checkpoint_id)
            restored = _restored(folded, "replay", execution_id, sequence)
        lineage = Lineage(
            triggered_by="retry",
            continuation_of=execution_id,
            depth=described.view.lineage_depth + 1,
        )
        params = _params(folded).model_copy(
            update={"execution_id": new_execution_id(), "restored": restored}
        )
        return await self.launcher.start(params, lineage)

    async def rollback(self, project_id: str, execution_id: str, checkpoint_id: str) -> Status:
        """Back to a checkpoint, same id, paused there; later state is discarded."""
        described = await self.reader.describe(project_id, execution_id)
        sequence = checkpoint_sequence(execution_id, checkpoint_id)
        if described.view.status not in TERMINAL_STATUSES:
            if sequence not in {c.sequence for c in described.view.checkpoints}:
                raise checkpoint_not_found()
            await signal(
                described.handle, ExecutionWorkflow.rollback, m.RollbackRequest(sequence=sequence)
            )
            return Status.PAUSED
        await self._rollback_closed(described, sequence)
        return Status.PAUSED

    async def _rollback_closed(self, described: Described, sequence: int) -> None:
        """A new run under the same id, paused at the checkpoint; the old run is deleted.
        The new run carries every checkpoint it keeps, so nothing it shows is lost."""
        folded = await self.reader.fold(described.handle)
        restored = _restored(folded, "rollback", described.view.id, sequence)
        restored.paused = True
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
        await self.launcher.start(
            _params(folded).model_copy(update={"restored": restored}), lineage, rollback=True
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


def _restored(
    folded: FoldedHistory, label: Literal["replay", "rollback"], source: str, sequence: int
) -> m.RestoredState:
    if sequence not in folded.log.history:
        raise checkpoint_not_found()
    return folded.restored(label, source, sequence)
