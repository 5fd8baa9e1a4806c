"""The Temporal connection shared by the API, the worker and the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType, TaskQueueType
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    DescribeTaskQueueRequest,
    UpdateNamespaceRequest,
)
from temporalio.client import Client, Interceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

from ferryman import search_attributes
from ferryman.settings import IDEMPOTENCY_WINDOW_HOURS, Settings


class TemporalSetupError(RuntimeError):
    """Temporal is reachable but not prepared for ferryman; the message says how to fix it."""


async def connect(
    settings: Settings,
    *,
    runtime: Runtime | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> Client:
    """One client per process: pydantic models travel as JSON on every call. The worker
    brings its metrics `runtime`; the API and the worker their tracing `interceptors`."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
        interceptors=interceptors,
    )


async def missing_search_attributes(client: Client) -> list[str]:
    # `retry=True`: the client retries the errors Temporal calls transient (unavailable,
    # overloaded) instead of failing a process's start on them.
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace), retry=True
    )
    return [key.name for key in search_attributes.ALL if key.name not in response.custom_attributes]


async def check_search_attributes(client: Client) -> None:
    """Fail with a sentence that says how to register what is missing."""
    missing = await missing_search_attributes(client)
    if missing:
        flags = " ".join(
            f"--name {flag.split('=')[0]} --type {flag.split('=')[1]}"
            for flag in search_attributes.cli_flags()
            if flag.split("=")[0] in missing
        )
        raise TemporalSetupError(
            f"Temporal namespace {client.namespace!r} lacks the search attributes "
            f"{', '.join(missing)}. Register them with `temporal operator search-attribute "
            f"create --namespace {client.namespace} {flags}` (or run `ferryman up`, which "
            "registers them on the embedded server)."
        )


async def register_search_attributes(client: Client) -> None:
    """Add whatever custom search attributes are missing (idempotent)."""
    missing = set(await missing_search_attributes(client))
    if not missing:
        return
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={
                key.name: IndexedValueType.Value(
                    "INDEXED_VALUE_TYPE_" + key.indexed_value_type.name
                )
                for key in search_attributes.ALL
                if key.name in missing
            },
        )
    )


async def ensure_retention(client: Client, days: int) -> None:
    """Keep closed executions `days` days; never below the idempotency window."""
    if days * 24 < IDEMPOTENCY_WINDOW_HOURS:
        raise TemporalSetupError(
            f"a retention of {days} days is below the {IDEMPOTENCY_WINDOW_HOURS} h "
            "idempotency window"
        )
    wanted = timedelta(days=days)
    described = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=client.namespace)
    )
    current = described.config.workflow_execution_retention_ttl.ToTimedelta()
    if current == wanted:
        return
    retention = Duration()
    retention.FromTimedelta(wanted)
    await client.workflow_service.update_namespace(
        UpdateNamespaceRequest(
            namespace=client.namespace,
            config=NamespaceConfig(workflow_execution_retention_ttl=retention),
        )
    )


async def has_pollers(client: Client, task_queue: str) -> bool:
    """Whether a worker polls `task_queue` for workflow tasks.

    Nothing fails when none does: executions just wait. This is how the API tells a stuck
    execution, and how tests and the bench know a worker they started is ready.
    """
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return bool(response.pollers)
