"""The worker process: runs ExecutionWorkflow and the step activities.

`ferryman worker` (or `python worker.py`) connects to Temporal, checks that the search
attributes exist, loads the user activity modules, publishes their names to the metadata
database (definition validation checks against them) and polls until SIGTERM, when it
stops polling and lets in-flight steps finish within the graceful shutdown timeout.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import NoReturn

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from ferryman import metrics, tracing
from ferryman.activities import http, registry
from ferryman.activities.guard import StepGuard
from ferryman.activities.http import close_http_client, http_request
from ferryman.activities.llm import LlmChat, close_llm_client
from ferryman.activities.secrets import redact_log_records
from ferryman.api.executions.coordination import Coordination
from ferryman.api.store import db, repository
from ferryman.settings import Settings
from ferryman.temporal import check_search_attributes, connect
from ferryman.workflows.execution import ExecutionWorkflow, NamedExecutionWorkflow
from ferryman.workflows.gate import ConcurrencyGate

log = structlog.get_logger("ferryman.worker")

# Every execution runs under its definition's id (dynamic); executions started before that
# run as ExecutionWorkflow and must finish. Each concurrency key has a gate.
WORKFLOWS = (NamedExecutionWorkflow, ExecutionWorkflow, ConcurrencyGate)
BUILTIN_ACTIVITY_MODULES = ("ferryman.activities.examples",)
# Pure modules the workflow imports: passing them through the sandbox skips re-importing
# them on every workflow run, which is most of the cost of a first activation.
PASSTHROUGH_MODULES = (
    "ferryman",
    "pydantic",
    "pydantic_core",
    "jinja2",
    "jsonschema",
    "markupsafe",
)


def workflow_runner(sandboxed: bool = True) -> WorkflowRunner:
    """temporalio's sandbox (ferryman's pure modules passed through), or none
    (`FERRYMAN_WORKFLOW_SANDBOX`, off by default: see `Settings.workflow_sandbox`)."""
    if not sandboxed:
        return UnsandboxedWorkflowRunner()
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )


def build_replayer() -> Replayer:
    """The installed workflow code, ready to replay recorded histories (tests, debug
    bundles): a divergence is a change that would break executions running now. Always in
    the sandbox: a replay is where a nondeterministic call must show."""
    return Replayer(
        workflows=list(WORKFLOWS),
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )


def build_worker(
    client: Client, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> Worker:
    """The worker: the workflows, the steps' activities and the coordination activities
    (which read the metadata store through `sessions`). The built-in step activities
    (`http`, `llm`) are not in the registry: they are not published as user activities."""
    activities = registry.registered()
    redact_log_records()
    http.configure(settings.http_block_private_networks)
    coordination = Coordination(client, settings, sessions)
    return Worker(
        client,
        interceptors=[StepGuard()],
        task_queue=settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=[
            http_request,
            LlmChat(settings).chat,
            *coordination.activities(),
            *(entry.defn for entry in activities.values()),
        ],
        workflow_runner=workflow_runner(settings.workflow_sandbox),
        graceful_shutdown_timeout=timedelta(seconds=settings.graceful_shutdown_secs),
        identity=f"ferryman-worker@{socket.gethostname()}:{os.getpid()}",
    )


def load_activities(settings: Settings) -> None:
    registry.load_modules([*BUILTIN_ACTIVITY_MODULES, *settings.activity_modules])


async def publish_activities(settings: Settings, identity: str) -> None:
    """Record what this worker runs; definition validation checks step activities against it."""
    activities = [
        (entry.name, entry.description, entry.input_schema)
        for entry in registry.registered().values()
    ]
    async with db.open_store(settings.resolved_database_url) as store, store.sessions() as session:
        await repository.publish_activities(session, identity, settings.task_queue, activities)


async def run_worker(
    settings: Settings, stop_signals: Sequence[signal.Signals] = (signal.SIGTERM, signal.SIGINT)
) -> None:
    """Run until one of `stop_signals` arrives, then drain in-flight steps and return."""
    client = await connect(
        settings,
        runtime=metrics.worker_runtime(settings),
        interceptors=tracing.client_interceptors(settings, tracing.WORKER),
    )
    await check_search_attributes(client)
    load_activities(settings)
    async with db.open_store(settings.resolved_database_url) as store:
        worker = build_worker(client, settings, store.sessions)
        await publish_activities(settings, worker.config()["identity"] or "worker")
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in stop_signals:
            loop.add_signal_handler(sig, stopping.set)
        log.info(
            "worker started",
            task_queue=settings.task_queue,
            temporal=settings.temporal_address,
            activities=sorted(registry.registered()),
            metrics=metrics.worker_url(settings),
            tracing=tracing.enabled(settings),
        )
        async with worker:
            await stopping.wait()
            log.info("worker draining", timeout_secs=settings.graceful_shutdown_secs)
    await close_http_client()
    await close_llm_client()
    tracing.shutdown()
    log.info("worker stopped")


def exit_drained(code: int = 0) -> NoReturn:
    """Leave without interpreter finalization once drained and flushed, with `code`.

    The SDK's Rust runtime threads can outlive finalization and abort it
    ("PyGILState_Release ... must be current"), turning a clean stop, or a refusal to
    start, into a crash code.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> NoReturn:
    """`python worker.py`: a worker on the environment's settings (`ferryman worker` adds
    the command line's options and one-sentence errors)."""
    from ferryman.logging import configure_logging
    from ferryman.settings import get_settings

    configure_logging(get_settings())
    asyncio.run(run_worker(get_settings()))
    exit_drained()


if __name__ == "__main__":
    main()
