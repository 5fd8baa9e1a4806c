"""Prometheus metrics: every name ferryman exports, in the API and in the worker.

Two processes, two ways of counting, one endpoint each:

- The API counts with prometheus-client in a registry of its own (`API`), served at
  `GET /metrics` on the API's port (no key), or on `FERRYMAN_METRICS_PORT` (`serve_api`).
- The worker's metrics go through the Temporal SDK runtime's Prometheus exporter
  (`worker_runtime`): the SDK's own (`temporal_*`: task latencies, slots, sticky cache) and
  ferryman's, recorded with the SDK's replay-safe meters: `workflow.metric_meter()` in
  workflow code (it records nothing while a history replays, so a worker that picks a run
  up again counts nothing twice, and it issues no command) and `activity.metric_meter()`
  in activities.

Label values are bounded: project and job ids, step kinds, statuses, outcomes, route
templates, model names, concurrency keys. Never a run id, a payload or a rendered value.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from temporalio import activity, workflow
from temporalio.common import MetricMeter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from ferryman.settings import Settings
from ferryman.temporal import TemporalSetupError

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # what every Prometheus reads
UNMATCHED = "unmatched"  # the route label of a request no route matched (404s of any path)
# Control routes end in their kind: `POST .../{run_id}/pause`; a run's DELETE cancels it.
CONTROL_KINDS = frozenset(
    {"pause", "resume", "stop", "cancel", "signal", "rollback", "reschedule", "debug"}
)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Steps run from milliseconds (a transform, a local call) to an hour (a model, a batch).
STEP_SECONDS = (0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
REQUEST_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


# ---- the API process --------------------------------------------------------------------


class ApiMetrics:
    """The API process's metrics, in a registry of its own (not prometheus-client's
    global one, which would add the Python process collectors twice in tests)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ferryman_http_requests",
            "HTTP requests answered, by method, route template and status code",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ferryman_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            ["method", "route"],
            buckets=REQUEST_SECONDS,
            registry=self.registry,
        )
        self.runs_started = Counter(
            "ferryman_runs_started",
            "Runs this API process started, by project, job and trigger",
            ["project", "job", "triggered_by"],
            registry=self.registry,
        )
        self.control_calls = Counter(
            "ferryman_control_calls",
            "Control calls on runs (pause, resume, stop, cancel, signal, rollback, "
            "reschedule, debug), by kind and outcome (ok, refused: 4xx, error: 5xx)",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.replays = Counter(
            "ferryman_idempotent_replays",
            "Requests answered with the stored answer of an earlier one (Idempotency-Key)",
            ["scope"],
            registry=self.registry,
        )

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One HTTP request answered; a control route's call counted by kind and outcome."""
        method = method if method in _METHODS else "OTHER"
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        kind = control_kind(method, route)
        if kind is not None:
            outcome = "ok" if status < 400 else "refused" if status < 500 else "error"
            self.control_calls.labels(kind, outcome).inc()

    def run_started(self, project: str, job: str, triggered_by: str) -> None:
        self.runs_started.labels(project, job, triggered_by).inc()

    def replayed(self, scope: str) -> None:
        # A scope may name its job (`trigger:<job>`): its kind is label enough.
        self.replays.labels(scope.split(":", 1)[0]).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def control_kind(method: str, route: str) -> str | None:
    """The control call a route template is, if any: a POST to `.../{run_id}/<kind>` (or
    `{execution_id}`), or the DELETE of a run (a cancel)."""
    *head, last = route.rstrip("/").split("/")
    on_run = bool(head) and head[-1] in ("{run_id}", "{execution_id}")
    if method == "POST" and on_run and last in CONTROL_KINDS:
        return last
    if method == "DELETE" and last in ("{run_id}", "{execution_id}"):
        return "cancel"
    return None


API = ApiMetrics()  # one per process: the launcher and the idempotency service count here


@contextmanager
def serve_api(settings: Settings) -> Iterator[None]:
    """`FERRYMAN_METRICS_PORT`: the API's metrics on a port of their own while in scope."""
    if settings.metrics_port is None:
        yield
        return
    server, thread = start_http_server(
        settings.metrics_port, addr=settings.metrics_host, registry=API.registry
    )
    try:
        yield
    finally:
        _stop(server, thread)


def _stop(server: WSGIServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


# ---- the worker process -----------------------------------------------------------------


def worker_runtime(settings: Settings) -> Runtime | None:
    """The SDK runtime with its Prometheus exporter on `FERRYMAN_WORKER_METRICS_PORT`
    (None: the default runtime, no endpoint). Counters end in `_total`, durations are
    seconds, as prometheus-client names the API's."""
    if not settings.worker_metrics_port:
        return None
    host = settings.metrics_host
    address = (
        f"[{host}]:{settings.worker_metrics_port}"
        if ":" in host
        else (f"{host}:{settings.worker_metrics_port}")
    )
    config = PrometheusConfig(
        bind_address=address,
        counters_total_suffix=True,
        durations_as_seconds=True,
        histogram_bucket_overrides={"ferryman_step_attempt_duration_seconds": STEP_SECONDS},
    )
    try:
        return Runtime(telemetry=TelemetryConfig(metrics=config))
    except ValueError as err:  # the exporter could not bind
        raise TemporalSetupError(
            f"the worker cannot serve its metrics on {address}: {err}; set "
            "FERRYMAN_WORKER_METRICS_PORT to a free port, or to 0 to serve none"
        ) from err


def worker_url(settings: Settings) -> str | None:
    """Where the worker's metrics answer (None: off)."""
    if not settings.worker_metrics_port:
        return None
    return f"http://{shown(settings.metrics_host)}:{settings.worker_metrics_port}/metrics"


def api_url(settings: Settings, api: str) -> str:
    """Where the API's metrics answer: its own port's `/metrics`, or `FERRYMAN_METRICS_PORT`."""
    if settings.metrics_port is None:
        return f"{api}/metrics"
    return f"http://{shown(settings.metrics_host)}:{settings.metrics_port}/metrics"


def shown(host: str) -> str:
    """A bound address as a client reaches it on this machine (all interfaces: loopback)."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _workflow_meter(project: str, job: str) -> MetricMeter:
    return workflow.metric_meter().with_additional_attributes({"project": project, "job": job})


def step_attempt(project: str, job: str, kind: str, outcome: str, seconds: float) -> None:
    """Workflow code: one activity attempt of a step (or one child run) ended: `completed`,
    `failed` (retried or not) or `canceled`; `seconds` in workflow time."""
    meter = _workflow_meter(project, job)
    labels = {"kind": kind, "outcome": outcome}
    meter.create_counter(
        "ferryman_step_attempts", "Step attempts (activity attempts, child runs)"
    ).add(1, labels)
    meter.create_histogram_float(
        "ferryman_step_attempt_duration_seconds", "Step attempt duration, schedule to result", "s"
    ).record(max(seconds, 0.0), labels)


def step_finished(project: str, job: str, kind: str, status: str) -> None:
    """Workflow code: a step ended (completed, failed, skipped, canceled)."""
    _workflow_meter(project, job).create_counter(
        "ferryman_steps_finished", "Steps ended, by kind and status"
    ).add(1, {"kind": kind, "status": status})


def retry_scheduled(project: str, job: str, kind: str) -> None:
    """Workflow code: a failed attempt will be tried again after its backoff."""
    _workflow_meter(project, job).create_counter(
        "ferryman_step_retries", "Retries scheduled after a failed step attempt"
    ).add(1, {"kind": kind})


def dead_letter(project: str, job: str, kind: str) -> None:
    """Workflow code: a step exhausted its retries and its run is parked as a dead letter."""
    _workflow_meter(project, job).create_counter(
        "ferryman_dead_letters", "Runs parked as dead letters (a step's retries exhausted)"
    ).add(1, {"kind": kind})


def run_finished(project: str, job: str, status: str) -> None:
    """Workflow code: a run closed with `status` (what its own code sees: a termination from
    outside is Temporal's `temporal_workflow_*` count)."""
    _workflow_meter(project, job).create_counter(
        "ferryman_runs_finished", "Runs closed, by status"
    ).add(1, {"status": status})


def gate_slots(project: str, key: str, queued: int, in_use: int, limit: int) -> None:
    """Workflow code: a concurrency gate's waiters and holders now. One series per key:
    keys are what a definition's `concurrency.key` renders to, so keep them few."""
    meter = workflow.metric_meter()
    labels = {"project": project, "key": key}
    meter.create_gauge("ferryman_gate_queue_depth", "Runs queued for a slot").set(queued, labels)
    meter.create_gauge("ferryman_gate_slots_in_use", "Slots held by runs").set(in_use, labels)
    meter.create_gauge("ferryman_gate_slots_limit", "Slots a key allows").set(limit, labels)


def llm_call(model: str, prompt_tokens: int, completion_tokens: int, cost_microusd: int) -> None:
    """Activity code: one model call's usage, by the model the step asked for."""
    meter = activity.metric_meter()
    tokens = meter.create_counter("ferryman_llm_tokens", "LLM tokens used, by model and type")
    tokens.add(prompt_tokens, {"model": model, "type": "prompt"})
    tokens.add(completion_tokens, {"model": model, "type": "completion"})
    meter.create_counter(
        "ferryman_llm_cost_microusd", "LLM cost in micro-dollars (FERRYMAN_LLM_PRICES), by model"
    ).add(cost_microusd, {"model": model})
