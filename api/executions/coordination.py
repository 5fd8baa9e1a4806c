"""The activities that coordinate runs with each other: concurrency gates, dependencies,
child runs. They talk to Temporal and the metadata store, so they live in the worker with a
client and a store of their own (`Coordination`), and are registered beside the steps'.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from ferryman.api.definitions import DefinitionService
from ferryman.api.errors import ApiError
from ferryman.api.executions.dependencies import evaluate
from ferryman.api.executions.launch import Launcher, LaunchRequest
from ferryman.api.executions.reader import ExecutionReader
from ferryman.api.store.errors import StoreError
from ferryman.settings import Settings
from ferryman.workflows import gate
from ferryman.workflows.admission import DEPENDENCIES_ACTIVITY, DependencyWait
from ferryman.workflows.children import (
    PLAN_ACTIVITY,
    START_ACTIVITY,
    ChildPlan,
    ChildRequest,
    DetachedStart,
)


class Coordination:
    def __init__(
        self, client: Client, settings: Settings, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        self.client = client
        self.settings = settings
        self.reader = ExecutionReader(client, settings)
        self.launcher = Launcher(client, settings, DefinitionService(sessions, settings))

    def activities(self) -> list[Callable[..., Any]]:
        return [
            self.enter_gate,
            self.closed_holders,
            self.await_dependencies,
            self.plan_child,
            self.start_detached,
        ]

    @activity.defn(name=gate.ENTER_ACTIVITY)
    async def enter_gate(self, entry: gate.GateEntry) -> None:
        """Ask the key's gate for a slot, starting the gate if it is not running."""
        request = entry.request.model_copy(
            update={"reconcile_secs": self.settings.gate_reconcile_secs}
        )
        await self.client.start_workflow(
            gate.ConcurrencyGate.run,
            gate.GateState(limit=request.limit, reconcile_secs=request.reconcile_secs),
            id=entry.gate_id,
            task_queue=self.settings.task_queue,
            start_signal=gate.ConcurrencyGate.acquire.__name__,
            start_signal_args=[request],
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            static_summary=f"concurrency slots of {entry.gate_id} (limit {request.limit})",
        )

    @activity.defn(name=gate.RECONCILE_ACTIVITY)
    async def closed_holders(self, holders: gate.Holders) -> gate.Holders:
        """The holders whose execution is no longer running (or no longer exists)."""
        closed = []
        for execution_id in holders.execution_ids:
            try:
                description = await self.client.get_workflow_handle(execution_id).describe()
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND:
                    raise
                closed.append(execution_id)
                continue
            if description.status != WorkflowExecutionStatus.RUNNING:
                closed.append(execution_id)
            activity.heartbeat()
        return gate.Holders(execution_ids=closed)

    @activity.defn(name=DEPENDENCIES_ACTIVITY)
    async def await_dependencies(self, wait: DependencyWait) -> None:
        """Return once every dependency holds; heartbeats (with what it saw) meanwhile."""
        while True:
            states = await evaluate(self.reader, wait.project_id, wait.dependencies, wait.batch_id)
            if all(state.satisfied for state in states):
                return
            activity.heartbeat(
                {
                    s.dependency.depends_on_job_id: s.latest.status if s.latest else None
                    for s in states
                }
            )
            await asyncio.sleep(self.settings.dependency_poll_secs)

    @activity.defn(name=PLAN_ACTIVITY)
    async def plan_child(self, request: ChildRequest) -> ChildPlan:
        """The child run's input and trigger record: its job resolved, its input checked
        (a refusal fails the step at once: retrying cannot change it)."""
        try:
            params, record = await self.launcher.prepare(
                _launch_request(request, "spawn"), request.execution_id
            )
        except (ApiError, StoreError) as err:
            raise refusal(err) from err
        return ChildPlan(params=params, record=record)

    @activity.defn(name=START_ACTIVITY)
    async def start_detached(self, start: DetachedStart) -> None:
        """Start a run that outlives the step that asked for it (`detach: true`)."""
        request = _launch_request(start.request, "workflow")
        try:
            await self.launcher.launch(request, start.request.execution_id)
        except (ApiError, StoreError) as err:
            raise refusal(err) from err


def refusal(err: ApiError | StoreError) -> ApplicationError:
    """A launch the API would refuse (unknown job, disabled, bad input): retrying cannot
    change that, so the step fails at once with the API's sentence."""
    return ApplicationError(str(err), type=err.code.value, non_retryable=True)


def _launch_request(request: ChildRequest, triggered_by: str) -> LaunchRequest:
    return LaunchRequest(
        project_id=request.project_id,
        workflow_id=request.job_id,
        input=request.input,
        version=request.version,
        priority=request.priority,
        triggered_by=triggered_by,
        debug_mode=request.debug_mode,
        created_by=request.created_by,
        parent_run_id=request.parent_run_id,
        workflow_step_run_id=request.workflow_step_run_id,
    )
