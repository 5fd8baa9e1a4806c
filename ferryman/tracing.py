"""OpenTelemetry traces: one trace per run, from the HTTP request that started it through
its workflow to each step's activities (an `llm` step's model and tool calls included).

On only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (`Settings.otel_exporter_otlp_endpoint`):
then each process exports its spans over OTLP/HTTP in batches (the SDK's `OTEL_BSP_*`
variables tune them), as `ferryman-api` or `ferryman-worker` unless `OTEL_SERVICE_NAME`
says otherwise. Unset, nothing is installed: no interceptor, no request spans, no cost.

The pieces are libraries' own: FastAPI's built-in request telemetry (the `POST` span),
and `temporalio.contrib.opentelemetry.TracingInterceptor` on the Temporal client of the API
and of the worker (`StartWorkflow:<job>` -> `RunWorkflow:<job>` -> `StartActivity:<name>` ->
`RunActivity:<name>`, the context carried in Temporal headers). Neither records arguments,
payloads or headers, so a secret (resolved only inside an activity) has no way into a span.
"""

from __future__ import annotations

import os
from collections.abc import Set as AbstractSet
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

from ferryman.settings import Settings

API = "ferryman-api"
WORKER = "ferryman-worker"


def enabled(settings: Settings) -> bool:
    return bool(settings.otel_exporter_otlp_endpoint)


_PROVIDERS: dict[tuple[str, str], TracerProvider] = {}


def _provider(endpoint: str, service: str) -> TracerProvider:
    """One provider per process and service, exporting in batches; flushed at exit (and by
    `shutdown`, for a worker that leaves without interpreter finalization)."""
    if (endpoint, service) in _PROVIDERS:
        return _PROVIDERS[endpoint, service]
    name = os.environ.get("OTEL_SERVICE_NAME") or service
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    traces = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or (
        endpoint.rstrip("/") + "/v1/traces"
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces)))
    _PROVIDERS[endpoint, service] = provider
    return provider


def provider(settings: Settings, service: str) -> TracerProvider | None:
    endpoint = settings.otel_exporter_otlp_endpoint
    return _provider(endpoint, service) if endpoint else None


def client_interceptors(settings: Settings, service: str) -> list[Interceptor]:
    """For `Client.connect`: the tracing interceptor (also the worker's, through its
    client) when traces are on; nothing otherwise."""
    traced = provider(settings, service)
    if traced is None:
        return []
    return [TracingInterceptor(traced.get_tracer("ferryman"))]


def fastapi_telemetry(settings: Settings, untraced: AbstractSet[str]) -> dict[str, Any]:
    """`FastAPI(telemetry=...)`: request spans on our provider when traces are on, none for
    the `untraced` paths (probes, scrapes); no FastAPI metrics or logs (ferryman has its
    own). Everything off otherwise, even if some other library set a global provider."""
    traced = provider(settings, API)
    if traced is None:
        return {"tracing": False, "metrics": False, "logs": False, "auto_configure": False}
    return {
        "tracer_provider": traced,
        "tracing": True,
        "metrics": False,
        "logs": False,
        "operation_spans": False,
        "auto_configure": False,
        "exclude": lambda scope: scope.get("path") in untraced,
    }


def shutdown() -> None:
    """Export what is still buffered (a worker leaves with `os._exit`, skipping atexit)."""
    for traced in _PROVIDERS.values():
        traced.shutdown()
