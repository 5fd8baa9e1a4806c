"""Session fixtures: one real Temporal dev server per test session, on free ports, its
settings, a client and an in-process worker with the test activities."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from pydantic import SecretStr
from temporalio.client import Client

from ferryman.devserver import DevServer, headless_dev_server
from ferryman.settings import LlmPrice, Settings
from ferryman.temporal import connect, ensure_retention
from tests.support.llm_server import LlmServer

# What `llm` steps in tests are configured with: a provider key (to be searched for in
# histories) and the price of one model.
LLM_API_KEY = "sk-test-4b1d8e0c9a7f2e6d5c3b"
PRICED_MODEL = "priced-model"


@pytest_asyncio.fixture(scope="session")
async def dev_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DevServer]:
    async with headless_dev_server(tmp_path_factory.mktemp("temporal")) as server:
        yield server


@pytest.fixture(scope="session")
def base_settings(
    dev_server: DevServer, tmp_path_factory: pytest.TempPathFactory, llm_server: LlmServer
) -> Settings:
    data_dir = tmp_path_factory.mktemp("ferryman")
    return Settings(
        data_dir=data_dir,
        temporal_address=dev_server.address,
        task_queue=f"ferryman-test-{uuid.uuid4().hex[:8]}",
        activity_modules=["tests.support.activities"],
        graceful_shutdown_secs=3,
        # In-process workers run workflow code in the sandbox, so a nondeterministic call
        # in it fails the suite; workers started as processes run the default (none).
        workflow_sandbox=True,
        # Terminated slot holders are noticed, and dependencies seen, within a test's patience.
        gate_reconcile_secs=1.0,
        dependency_poll_secs=0.3,
        # `llm` steps talk to the local OpenAI-compatible server (tests/support/llm_server.py).
        llm_base_url=llm_server.base_url,
        llm_api_key=SecretStr(LLM_API_KEY),
        llm_prices={
            PRICED_MODEL: LlmPrice(prompt_per_million_usd=2.5, completion_per_million_usd=10.0)
        },
    )


@pytest_asyncio.fixture(scope="session")
async def temporal_client(base_settings: Settings) -> AsyncIterator[Client]:
    client = await connect(base_settings)
    await ensure_retention(client, base_settings.retention_days)
    yield client


@pytest_asyncio.fixture(scope="session")
async def worker(temporal_client: Client, base_settings: Settings) -> AsyncIterator[None]:
    """One in-process worker for the session, with the test activities registered."""
    from ferryman.api.store import db
    from ferryman.worker import build_worker, load_activities, publish_activities

    load_activities(base_settings)
    async with db.open_store(base_settings.resolved_database_url) as store:
        running = build_worker(temporal_client, base_settings, store.sessions)
        await publish_activities(base_settings, "test-worker")
        task = asyncio.create_task(running.run())
        yield
        await running.shutdown()
        await task
