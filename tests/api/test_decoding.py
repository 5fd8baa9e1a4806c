"""`decoding` answers what temporalio's client answers for the same runs (its own, faster
decoding of describe and list answers): every field ferryman reads, the typed search
attributes and the memo, for a run that completed with step outputs and one that waits."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from temporalio.client import Client, WorkflowExecution

from ferryman import search_attributes as sa
from ferryman.api.executions import decoding
from tests.support.api import Api
from tests.support.polling import eventually

COMPARED = [
    f.name
    for f in dataclasses.fields(WorkflowExecution)
    if f.name not in ("search_attributes", "_context_free_data_converter")
]


def job(job_id: str) -> dict[str, Any]:
    return {
        "id": job_id,
        "name": "Decoded",
        "steps": [
            {"id": "double", "kind": "transform", "with": {"value": "{{ input.n * 2 }}"}},
            {
                "id": "hold",
                "kind": "wait",
                "depends_on": ["double"],
                "if": "input.wait",
                "with": {"signal": "go"},
            },
        ],
        "output": "{{ steps.double.output }}",
    }


def same(ours: WorkflowExecution, theirs: WorkflowExecution) -> None:
    for name in COMPARED:
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ours.data_converter.payload_converter is not None


async def test_describe_and_list_decode_as_the_client_does(
    api: Api, temporal_client: Client
) -> None:
    workflow_id = f"decoded-{uuid.uuid4().hex[:8]}"
    await api.create_workflow(job(workflow_id))
    done = await api.run(workflow_id, {"n": 21, "wait": False})
    waiting = await api.run(workflow_id, {"n": 1, "wait": True})
    await eventually(lambda: api.execution(done), lambda e: e["status"] == "completed")
    await eventually(lambda: api.execution(waiting), lambda e: e["status"] == "waiting")

    for execution_id in (done, waiting):
        theirs = await temporal_client.get_workflow_handle(execution_id).describe()
        ours = await decoding.describe(temporal_client, execution_id)
        same(ours, theirs)
        assert ours.raw_description == theirs.raw_description
        assert ours.typed_search_attributes.get(sa.WORKFLOW) == workflow_id
        assert decoding.memo(ours) == await theirs.memo()
        assert decoding.memo(ours), "a ferryman run has a memo"

    query = f"{sa.WORKFLOW.name} = '{workflow_id}'"

    async def both_listed() -> list[WorkflowExecution]:
        return [e async for e in decoding.list_workflows(temporal_client, query)]

    ours_listed = await eventually(both_listed, lambda rows: len(rows) == 2)
    theirs_listed = [e async for e in temporal_client.list_workflows(query)]
    assert [e.id for e in ours_listed] == [e.id for e in theirs_listed]
    for ours_row, theirs_row in zip(ours_listed, theirs_listed, strict=True):
        same(ours_row, theirs_row)
        assert decoding.memo(ours_row) == await theirs_row.memo()

    paged = decoding.list_workflows(temporal_client, query, page_size=1)
    await paged.fetch_next_page()
    assert [e.id for e in paged.current_page or []] == [ours_listed[0].id]
    assert paged.next_page_token is not None
    assert [e.id async for e in decoding.list_workflows(temporal_client, query, limit=1)] == [
        ours_listed[0].id
    ]
