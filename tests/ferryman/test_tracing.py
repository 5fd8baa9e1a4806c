"""Traces: one trace per run, from the HTTP request that started it to each step's activity,
sent by the API process and the worker process (each its own process) to a local OTLP/HTTP
receiver; a secret a step resolves appears in no span."""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.client import Client

from ferryman import tracing
from ferryman.activities.http import HTTP_ACTIVITY_NAME
from ferryman.activities.llm_contract import CHAT_ACTIVITY
from ferryman.settings import Settings
from tests.support.llm_server import LlmServer, Reply
from tests.support.otlp import Receiver, Span
from tests.support.pair import running_pair, secret_call
from tests.support.polling import eventually

SECRET = f"trace-secret-{uuid.uuid4().hex}"


async def test_one_trace_from_the_request_to_each_step_activity(
    base_settings: Settings,
    temporal_client: Client,
    otlp_receiver: Receiver,
    http_target: str,
    llm_server: LlmServer,
    tmp_path: Any,
) -> None:
    model = llm_server.script([Reply(content="done")])
    job = f"traced-{uuid.uuid4().hex[:8]}"
    async with running_pair(
        base_settings,
        temporal_client,
        tmp_path,
        FERRYMAN_SECRET_TOKEN=SECRET,
        FERRYMAN_LLM_BASE_URL=llm_server.base_url,
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.url,
        OTEL_BSP_SCHEDULE_DELAY="100",  # milliseconds: spans leave within a test's patience
    ) as pair:
        await pair.job(traced_job(job, http_target, model))
        run_id = (await pair.trigger(job))["id"]
        await pair.settled(run_id, "completed")
        spans = await eventually(
            otlp_receiver.received,
            lambda found: all(
                named(found, name)
                for name in (f"CompleteWorkflow:{job}", f"RunActivity:{CHAT_ACTIVITY}")
            ),
        )

    request = one(spans, "POST /v1/jobs/{job_id}/trigger", service=tracing.API)
    assert request.parent_id == ""  # the trace starts at the request
    trace = [span for span in spans if span.trace_id == request.trace_id]
    start = one(trace, f"StartWorkflow:{job}", service=tracing.API)
    assert start.parent_id == request.span_id
    assert start.attributes["temporalWorkflowID"] == run_id
    # The SDK's TracingInterceptor hangs what the workflow does on the span that started it
    # (its workflow spans are instants, replay-safe): the run, each step's activity
    # scheduled, the close; each activity's execution under its scheduling.
    run = one(trace, f"RunWorkflow:{job}", service=tracing.WORKER)
    assert run.parent_id == start.span_id
    for activity in ("test.echo", HTTP_ACTIVITY_NAME, CHAT_ACTIVITY):
        scheduled = one(trace, f"StartActivity:{activity}", service=tracing.WORKER)
        assert scheduled.parent_id == start.span_id
        ran = one(trace, f"RunActivity:{activity}", service=tracing.WORKER)
        assert ran.parent_id == scheduled.span_id
        assert ran.attributes["temporalWorkflowID"] == run_id
    assert one(trace, f"CompleteWorkflow:{job}", service=tracing.WORKER).parent_id == (
        start.span_id
    )
    # Reads of the run are traces of their own; probes and scrapes are none.
    reads = named(spans, "GET /v1/runs/{run_id}")
    assert reads and all(span.trace_id != request.trace_id for span in reads)
    assert not [span for span in spans if span.attributes.get("url.path") == "/readyz"]
    # The secret was resolved in the http activity (the call succeeded with it in its URL)
    # and appears in no span of either process.
    assert SECRET not in repr([span.attributes for span in spans])


def traced_job(job: str, http_target: str, model: str) -> dict[str, Any]:
    """An activity, an `http` call with a secret in its URL, a model call."""
    return {
        "id": job,
        "name": "Traced",
        "steps": [
            {"id": "echo", "kind": "activity", "activity": "test.echo", "with": {"n": 1}},
            secret_call(http_target, after="echo"),
            {
                "id": "ask",
                "kind": "llm",
                "depends_on": ["call"],
                "with": {"model": model, "messages": [{"role": "user", "content": "done?"}]},
            },
        ],
    }


def named(spans: list[Span], name: str) -> list[Span]:
    return [span for span in spans if span.name == name]


def one(spans: list[Span], name: str, service: str) -> Span:
    found = named(spans, name)
    assert len(found) == 1, (name, [span.name for span in spans])
    assert found[0].service == service, found[0]
    return found[0]


def test_off_without_an_endpoint_installs_nothing(base_settings: Settings) -> None:
    off = base_settings.model_copy(update={"otel_exporter_otlp_endpoint": None})
    assert tracing.client_interceptors(off, tracing.API) == []
    assert tracing.fastapi_telemetry(off, untraced=frozenset())["tracing"] is False
