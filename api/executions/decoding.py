"""Runs as Temporal describes and lists them, decoded once and only as far as ferryman reads.

temporalio's client decodes every search attribute of a run twice (the deprecated untyped
mapping and the typed one), each through its chain of payload converters, and the memo
through pydantic: about a third of the API's CPU for a `GET` of one run, and most of a list
page's. The memo and the attributes are JSON written by ferryman's own workflows, so these
decode each value once, as the JSON it is, into the client's own types (the untyped mapping,
which ferryman never reads, is left empty). A payload in another encoding goes through the
client's converter as before. `tests/api/test_decoding.py` holds them equal to the client's.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from temporalio.api.common.v1 import Payload, SearchAttributes
from temporalio.api.common.v1 import WorkflowExecution as ExecutionRef
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
    ListWorkflowExecutionsRequest,
)
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
)
from temporalio.common import (
    SearchAttributeIndexedValueType,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)
from temporalio.converter import default as default_converter

JSON = b"json/plain"

# The `type` metadata of an indexed value (PascalCase, or rarely the enum's name).
_KEY_KINDS = {
    "Text": SearchAttributeKey.for_text,
    "Keyword": SearchAttributeKey.for_keyword,
    "Int": SearchAttributeKey.for_int,
    "Double": SearchAttributeKey.for_float,
    "Bool": SearchAttributeKey.for_bool,
    "Datetime": SearchAttributeKey.for_datetime,
    "KeywordList": SearchAttributeKey.for_keyword_list,
}
_KEY_KINDS.update(
    {
        f"INDEXED_VALUE_TYPE_{name}": _KEY_KINDS[kind]
        for name, kind in (
            ("TEXT", "Text"),
            ("KEYWORD", "Keyword"),
            ("INT", "Int"),
            ("DOUBLE", "Double"),
            ("BOOL", "Bool"),
            ("DATETIME", "Datetime"),
            ("KEYWORD_LIST", "KeywordList"),
        )
    }
)
_keys: dict[tuple[str, bytes], Any] = {}  # (name, type) -> key; a few dozen at most


def _key(name: str, kind: bytes) -> SearchAttributeKey[Any] | None:
    known = (name, kind)
    if known not in _keys:
        make = _KEY_KINDS.get(kind.decode())
        _keys[known] = make(name) if make else None
    key: SearchAttributeKey[Any] | None = _keys[known]
    return key


def _value(payload: Payload) -> Any:
    if payload.metadata.get("encoding") == JSON:
        return json.loads(payload.data)
    return default_converter().payload_converter.from_payload(payload)


def typed_search_attributes(api: SearchAttributes) -> TypedSearchAttributes:
    """What `temporalio.converter.decode_typed_search_attributes` answers, the same way."""
    pairs: list[SearchAttributePair[Any]] = []
    for name, payload in api.indexed_fields.items():
        kind = payload.metadata.get("type")
        key = _key(name, kind) if kind else None
        if key is None:
            continue
        value = _value(payload)
        indexed = key.indexed_value_type
        if indexed != SearchAttributeIndexedValueType.KEYWORD_LIST and isinstance(value, list):
            if len(value) != 1:
                continue
            value = value[0]
        if indexed == SearchAttributeIndexedValueType.DATETIME:
            value = datetime.fromisoformat(value)
        elif indexed == SearchAttributeIndexedValueType.DOUBLE and type(value) is int:
            value = float(value)
        if isinstance(value, key.origin_value_type):
            pairs.append(SearchAttributePair(key, value))
    return TypedSearchAttributes(pairs)


def memo(execution: WorkflowExecution, skip: str | None = None) -> dict[str, Any]:
    """The run's memo, as `await execution.memo()` answers it (no codec is configured),
    without the keys that start with `skip`."""
    fields = execution.raw_info.memo.fields.items()
    return {k: _value(payload) for k, payload in fields if skip is None or not k.startswith(skip)}


def _time(info: WorkflowExecutionInfo, field: str) -> datetime | None:
    if not info.HasField(field):  # type: ignore[arg-type]
        return None
    moment: datetime = getattr(info, field).ToDatetime(tzinfo=UTC)
    return moment


def _fields(info: WorkflowExecutionInfo, client: Client) -> dict[str, Any]:
    parent = info.parent_execution if info.HasField("parent_execution") else None
    root = info.root_execution if info.HasField("root_execution") else None
    return {
        "close_time": _time(info, "close_time"),
        "execution_time": _time(info, "execution_time"),
        "history_length": info.history_length,
        "id": info.execution.workflow_id,
        "namespace": client.namespace,
        "parent_id": parent.workflow_id if parent else None,
        "parent_run_id": parent.run_id if parent else None,
        "root_id": root.workflow_id if root else None,
        "root_run_id": root.run_id if root else None,
        "raw_info": info,
        "run_id": info.execution.run_id,
        "search_attributes": {},  # deprecated; ferryman reads the typed ones
        "start_time": info.start_time.ToDatetime(tzinfo=UTC),
        "status": WorkflowExecutionStatus(info.status) if info.status else None,
        "task_queue": info.task_queue,
        "typed_search_attributes": typed_search_attributes(info.search_attributes),
        "workflow_type": info.type.name,
        "_context_free_data_converter": client.data_converter,
    }


def execution(info: WorkflowExecutionInfo, client: Client) -> WorkflowExecution:
    return WorkflowExecution(**_fields(info, client))


def description(
    raw: DescribeWorkflowExecutionResponse, client: Client
) -> WorkflowExecutionDescription:
    return WorkflowExecutionDescription(
        **_fields(raw.workflow_execution_info, client), raw_description=raw
    )


async def describe(client: Client, workflow_id: str) -> WorkflowExecutionDescription:
    """`client.get_workflow_handle(workflow_id).describe()`, decoded as above (its latest
    run); raises the client's `RPCError`s."""
    raw = await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=client.namespace, execution=ExecutionRef(workflow_id=workflow_id)
        ),
        retry=True,
    )
    return description(raw, client)


class Listing:
    """`client.list_workflows(...)`, decoded as above: one page at a time (`fetch_next_page`,
    `current_page`, `next_page_token`) or every row (`async for`), at most `limit` rows."""

    def __init__(
        self,
        client: Client,
        query: str,
        page_size: int = 1000,
        next_page_token: bytes | None = None,
        limit: int | None = None,
    ) -> None:
        self._client = client
        self._query = query
        self._page_size = page_size
        self._limit = limit
        self._yielded = 0
        self.next_page_token = next_page_token
        self.current_page: list[WorkflowExecution] | None = None
        self._done = False

    async def fetch_next_page(self) -> None:
        page_size = self._page_size
        if self._limit is not None:
            page_size = min(page_size, self._limit - self._yielded)
        answer = await self._client.workflow_service.list_workflow_executions(
            ListWorkflowExecutionsRequest(
                namespace=self._client.namespace,
                query=self._query,
                page_size=page_size,
                next_page_token=self.next_page_token or b"",
            ),
            retry=True,
        )
        self.current_page = [execution(info, self._client) for info in answer.executions]
        self.next_page_token = answer.next_page_token or None
        self._done = self.next_page_token is None

    async def __aiter__(self) -> AsyncIterator[WorkflowExecution]:
        while self._limit is None or self._yielded < self._limit:
            await self.fetch_next_page()
            for row in self.current_page or []:
                yield row
                self._yielded += 1
                if self._limit is not None and self._yielded >= self._limit:
                    return
            if self._done:
                return


# Named as the client's own method it stands in for.
list_workflows = Listing
