from temporalio.client import Client

from ferryman.settings import Settings
from ferryman.temporal import check_search_attributes, connect, missing_search_attributes


async def test_dev_server_registers_every_search_attribute(temporal_client: Client) -> None:
    assert await missing_search_attributes(temporal_client) == []
    await check_search_attributes(temporal_client)


async def test_retention_is_set(temporal_client: Client, base_settings: Settings) -> None:
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest

    described = await temporal_client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=temporal_client.namespace)
    )
    ttl = described.config.workflow_execution_retention_ttl.ToTimedelta()
    assert ttl.days == base_settings.retention_days


async def test_check_names_the_fix_when_attributes_are_missing(base_settings: Settings) -> None:
    from google.protobuf.duration_pb2 import Duration
    from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest

    client = await connect(base_settings)
    retention = Duration(seconds=86400)
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(namespace="bare", workflow_execution_retention_period=retention)
    )
    bare = await connect(base_settings.model_copy(update={"temporal_namespace": "bare"}))
    import pytest

    from ferryman.temporal import TemporalSetupError

    with pytest.raises(TemporalSetupError, match="temporal operator search-attribute create"):
        await check_search_attributes(bare)
