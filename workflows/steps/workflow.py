"""`workflow`: a run of another job, as a Temporal child workflow; its output is the child's.

`workflow: <job id>` names the job, `version` pins one of its versions (default: the
latest), `with` is the child's input. The child is `triggered_by: spawn`, its
`parent_run_id` is this run and its `workflow_step_run_id` names this step's attempt. A
failed child fails the attempt (the step's retries apply, each with a new child); a child
canceled on its own fails the step at once; stopping the parent cancels its children.
With `detach: true` the step starts the run and completes with `{"run_id": ...}` at once;
that run (`triggered_by: workflow`) outlives the step and the parent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ferryman.workflows.errors import DefinitionError
from ferryman.workflows.steps.base import StepKind, StepRun

if TYPE_CHECKING:
    from ferryman.workflows.dsl import Step


class Workflow(StepKind):
    name = "workflow"

    def check(self, step: Step) -> None:
        super().check(step)
        if not step.workflow:
            raise DefinitionError(
                f"step {step.id!r} of kind 'workflow' needs `workflow` (a job id)", step.id
            )

    async def run(self, run: StepRun) -> Any:
        step = run.step
        assert step.workflow is not None
        return await run.child(step.workflow, step.version, run.params, detach=step.detach)
