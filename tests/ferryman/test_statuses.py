"""Status derivation and status filters agree: one run per (Temporal outcome, attribute) pair on
the real dev server, then every filter `visibility_clause` compiles must find exactly the runs
`derive` reads as one of its statuses."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

with workflow.unsafe.imports_passed_through():
    from ferryman import search_attributes as sa
    from ferryman.api.surfaces.api_v1.statuses import ExecutionStatus, canonical
    from ferryman.statuses import (
        DERIVATION,
        FAILURE_STATUSES,
        OPEN_STATUSES,
        TERMINAL_STATUSES,
        Status,
        derive,
        visibility_clause,
    )
    from tests.support.polling import eventually


@dataclass
class ProbeInput:
    outcome: str


@workflow.defn(name="StatusProbe")
class StatusProbe:
    """Ends the way the test asks: returns, fails, or waits (to be canceled, terminated, timed
    out, or left running)."""

    @workflow.run
    async def run(self, probe: ProbeInput) -> str:
        if probe.outcome == "completed":
            return "done"
        if probe.outcome == "failed":
            raise ApplicationError("asked to fail", non_retryable=True)
        # A cancellation raises asyncio.CancelledError here, which closes the run as canceled.
        await workflow.wait_condition(lambda: False)
        return "unreachable"


# pytest rewrites this module's asserts with an injected `import _pytest.assertion.rewrite`;
# without passing pytest through, the sandbox would re-import pytest (and pygments) for every
# run it starts, some 80 ms each.
SANDBOX = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("_pytest")
)

W = WorkflowExecutionStatus
OUTCOMES: dict[str, WorkflowExecutionStatus] = {
    "running": W.RUNNING,
    "completed": W.COMPLETED,
    "failed": W.FAILED,
    "canceled": W.CANCELED,
    "terminated": W.TERMINATED,
    "timed_out": W.TIMED_OUT,
}
# Every Status, missing, garbage, the empty string (stored as '', not NULL) and a wrong case
# (the dev server's SQLite compares keywords case-sensitively, like `derive`).
ATTRIBUTES: list[str | None] = [*(s.value for s in Status), None, "bogus", "", "QUEUED"]

# The specification, written independently of ferryman.statuses.DERIVATION:
# Temporal status -> (recorded values kept as they are, the status otherwise).
SPEC: dict[WorkflowExecutionStatus | None, tuple[frozenset[Status], Status]] = {
    W.RUNNING: (frozenset(Status), Status.QUEUED),
    W.COMPLETED: (frozenset({Status.COMPLETED, Status.CANCELED}), Status.COMPLETED),
    W.FAILED: (FAILURE_STATUSES, Status.FAILED),
    W.TIMED_OUT: (frozenset(), Status.TIMED_OUT),
    W.CANCELED: (frozenset(), Status.CANCELED),
    W.TERMINATED: (frozenset(), Status.CANCELED),
    W.CONTINUED_AS_NEW: (frozenset(Status), Status.EXECUTING),
    None: (frozenset(Status), Status.QUEUED),
}


def expected(temporal: WorkflowExecutionStatus | None, attribute: str | None) -> Status:
    keep, default = SPEC[temporal]
    for status in keep:
        if attribute == status.value:
            return status
    return default


def legacy_derive_status(temporal: WorkflowExecutionStatus | None, attribute: str | None) -> Status:
    """`derive_status` as the API had it before the table."""
    recorded = Status(attribute) if attribute and attribute in set(Status) else None
    if temporal in (None, WorkflowExecutionStatus.RUNNING):
        return recorded or Status.QUEUED
    if temporal == WorkflowExecutionStatus.COMPLETED:
        return recorded if recorded in (Status.COMPLETED, Status.CANCELED) else Status.COMPLETED
    if temporal == WorkflowExecutionStatus.FAILED:
        return recorded if recorded in FAILURE_STATUSES else Status.FAILED
    if temporal == WorkflowExecutionStatus.TIMED_OUT:
        return Status.TIMED_OUT
    if temporal in (WorkflowExecutionStatus.CANCELED, WorkflowExecutionStatus.TERMINATED):
        return Status.CANCELED
    return recorded or Status.EXECUTING


# ---- pure --------------------------------------------------------------------------------


def test_table_covers_every_temporal_status() -> None:
    assert set(DERIVATION) == {*WorkflowExecutionStatus, None}


def test_derive_matches_the_old_derive_status_and_the_spec() -> None:
    for temporal in [*WorkflowExecutionStatus, None]:
        for attribute in [*ATTRIBUTES, "Queued", " queued"]:
            old = legacy_derive_status(temporal, attribute)
            assert derive(temporal, attribute) is old, (temporal, attribute)
            assert old is expected(temporal, attribute), (temporal, attribute)


# ---- against the dev server ---------------------------------------------------------------


def _label(attribute: str | None) -> str:
    return {None: "none", "": "empty"}.get(attribute, attribute or "")


async def _run_probe(
    client: Client, task_queue: str, marker: str, outcome: str, attribute: str | None
) -> WorkflowHandle[StatusProbe, str]:
    pairs: list[SearchAttributePair[Any]] = [SearchAttributePair(sa.PROJECT, marker)]
    if attribute is not None:
        pairs.append(SearchAttributePair(sa.STATUS, attribute))
    handle = await client.start_workflow(
        StatusProbe.run,
        ProbeInput(outcome),
        id=f"{marker}-{outcome}-{_label(attribute)}",
        task_queue=task_queue,
        search_attributes=TypedSearchAttributes(pairs),
        execution_timeout=timedelta(seconds=1) if outcome == "timed_out" else None,
    )
    if outcome == "canceled":
        await handle.cancel()
    elif outcome == "terminated":
        await handle.terminate("status probe")
    if outcome != "running":
        with suppress(WorkflowFailureError):
            await handle.result()
    return handle


async def test_visibility_clause_finds_what_derive_reads(temporal_client: Client) -> None:
    client = temporal_client
    marker = f"status-probe-{uuid.uuid4().hex}"
    task_queue = f"status-probe-{uuid.uuid4().hex[:8]}"
    cases = [(outcome, attribute) for outcome in OUTCOMES for attribute in ATTRIBUTES]
    async with Worker(
        client, task_queue=task_queue, workflows=[StatusProbe], workflow_runner=SANDBOX
    ):
        try:
            handles = await asyncio.gather(
                *(_run_probe(client, task_queue, marker, o, a) for o, a in cases)
            )

            # (a) every run ends in the Temporal state asked for, and reads as the spec says.
            descriptions = await asyncio.gather(*(h.describe() for h in handles))
            final: dict[str, tuple[WorkflowExecutionStatus | None, str | None]] = {}
            derived: dict[str, Status] = {}
            for (outcome, attribute), description in zip(cases, descriptions, strict=True):
                assert description.status is OUTCOMES[outcome], description.id
                recorded = description.typed_search_attributes.get(sa.STATUS)
                assert recorded == attribute, description.id
                status = derive(description.status, recorded)
                assert status is expected(OUTCOMES[outcome], attribute), description.id
                final[description.id] = (description.status, recorded)
                derived[description.id] = status

            # Visibility is eventually consistent: wait until it shows every run's final state.
            scope = f"{sa.PROJECT.name} = {sa.escape(marker)}"

            async def listed(clause: str | None = None) -> list[WorkflowExecution]:
                query = f"{scope} AND {clause}" if clause else scope
                return [e async for e in client.list_workflows(query)]

            def settled(rows: list[WorkflowExecution]) -> bool:
                return {
                    e.id: (e.status, e.typed_search_attributes.get(sa.STATUS)) for e in rows
                } == final

            await eventually(listed, settled)

            # (b) one status at a time, (c) sets of statuses, the surface filters, no status.
            wanted: list[frozenset[Status]] = [frozenset({s}) for s in Status]
            wanted += [OPEN_STATUSES, FAILURE_STATUSES, TERMINAL_STATUSES, frozenset(Status)]
            wanted += [canonical(surface) for surface in ExecutionStatus]
            wanted += [frozenset()]
            results = await asyncio.gather(*(listed(visibility_clause(w)) for w in wanted))
            for statuses, rows in zip(wanted, results, strict=True):
                found = {e.id for e in rows}
                want = {i for i, status in derived.items() if status in statuses}
                assert found == want, (
                    f"{visibility_clause(statuses)}: missing {sorted(want - found)}, "
                    f"extra {sorted(found - want)}"
                )
        finally:
            # Leave nothing running on the shared dev server.
            await asyncio.gather(
                *(
                    client.get_workflow_handle(f"{marker}-running-{_label(a)}").terminate()
                    for a in ATTRIBUTES
                ),
                return_exceptions=True,
            )
