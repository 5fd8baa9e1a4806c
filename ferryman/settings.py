"""Configuration from environment variables, built once per process."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ferryman.validation import error_sentence

IDEMPOTENCY_WINDOW_HOURS = 24


class LlmPrice(BaseModel):
    """What one model costs, in US dollars per million tokens (`FERRYMAN_LLM_PRICES`)."""

    model_config = ConfigDict(extra="forbid")

    prompt_per_million_usd: float = Field(ge=0)
    completion_per_million_usd: float = Field(ge=0)


_PRICES = TypeAdapter(dict[str, LlmPrice])


class Settings(BaseSettings):
    """Every knob of ferryman; each field reads `FERRYMAN_<NAME>` unless an alias says otherwise."""

    model_config = SettingsConfigDict(env_prefix="FERRYMAN_", extra="ignore", populate_by_name=True)

    data_dir: Path = Path(".ferryman")
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    temporal_address: str = Field(default="127.0.0.1:7233", validation_alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", validation_alias="TEMPORAL_NAMESPACE")
    task_queue: str = "ferryman"

    api_host: str = "127.0.0.1"
    api_port: int = 8080
    bootstrap_api_key: str | None = None
    bootstrap_project: str = "default"

    activity_modules: Annotated[list[str], NoDecode] = Field(default_factory=list)
    workflows_dir: Path | None = None

    max_body_bytes: int = 2 * 1024 * 1024
    input_limit_bytes: int = 256 * 1024
    step_output_limit_bytes: int = 256 * 1024
    # A definition as stored, as JSON with its YAML aliases expanded: every run carries it
    # in its input, which Temporal caps at 2 MB per payload.
    max_definition_bytes: int = Field(default=512 * 1024, gt=0)
    # Input, metadata, output and step outputs over this many bytes of JSON are elided from
    # the memo (lists and `GET` show a marker); at most 100 steps' fit Temporal's 2 MB memo.
    memo_summary_limit_bytes: int = Field(default=2 * 1024, ge=256, le=16 * 1024)
    max_steps: int = 100

    # Steps: a lost worker's attempt is noticed after this long without a heartbeat (a
    # definition's `defaults.heartbeat_secs` or a step's `heartbeat_secs` overrides it).
    heartbeat_secs: float = Field(default=15.0, gt=0, le=3600)
    # `http` steps may not call loopback, private, link-local or cloud-metadata addresses.
    http_block_private_networks: bool = False

    # `llm` steps: the OpenAI-compatible endpoint and its key (a step may name another base
    # URL and a secret of its own), what each model costs, how long to wait for an answer.
    llm_base_url: str = "https://api.openai.com/v1"
    llm_api_key: SecretStr | None = None
    llm_prices: Annotated[dict[str, LlmPrice], NoDecode] = Field(default_factory=dict)
    llm_timeout_secs: float = Field(default=120.0, gt=0, le=3600)

    # Coordination: a concurrency gate checks for holders that closed without releasing
    # (terminated from outside) this often while runs wait for its slots; a run waiting on
    # other jobs' runs checks them this often.
    gate_reconcile_secs: float = Field(default=15.0, gt=0, le=3600)
    dependency_poll_secs: float = Field(default=2.0, gt=0, le=3600)

    # The Temporal Web UI's address: the dashboard (`/ui`) links each run to it when set
    # (`ferryman up` sets it to its dev server's UI).
    temporal_ui_url: str | None = None
    metadata_cache_secs: float = 5.0  # keys and definitions an API process may reuse
    stuck_after_secs: float = 10.0  # a workflow task unclaimed this long, no poller: stuck
    # A control (pause, resume, rollback, debug, reschedule, an event) waits this long for a
    # worker to apply it; one that no worker took by then is refused when one does.
    control_timeout_secs: float = Field(default=10.0, gt=0, le=300)
    retention_days: int = 30
    graceful_shutdown_secs: float = 30.0
    # Run workflow code in temporalio's sandbox, which re-creates a restricted module world
    # for every run and refuses I/O, clocks and randomness outside `workflow.*`. ferryman's
    # workflow code is its own (user code runs in activities), so workers run it without:
    # about a quarter of a worker's CPU per run (README, Benchmarks). The test suite's
    # in-process workers and every replay of a recorded history keep it on, so a
    # nondeterministic call in workflow code still fails CI.
    workflow_sandbox: bool = False
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"
    # One log line per HTTP request; health probes and metrics scrapes too when set.
    log_probe_requests: bool = False

    # Metrics (`ferryman.metrics`): the API serves `/metrics` on its own port, or on
    # `metrics_port` when set; the worker serves the SDK's and ferryman's on
    # `worker_metrics_port` (0: off). Those separate listeners bind `metrics_host`.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    # Traces (`ferryman.tracing`): exported over OTLP/HTTP when the standard variable is
    # set (the other OTEL_* variables apply as the OpenTelemetry SDK reads them); off and
    # free otherwise.
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT"
    )

    @field_validator("activity_modules", mode="before")
    @classmethod
    def _split_modules(cls, value: object) -> object:
        # Accept the natural shell form `a.b,c.d` as well as a JSON list.
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("llm_base_url")
    @classmethod
    def _http_base_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"FERRYMAN_LLM_BASE_URL must start with http:// or https:// ({url!r})")
        return url.rstrip("/")

    @field_validator("llm_prices", mode="before")
    @classmethod
    def _parse_prices(cls, value: object) -> object:
        """A JSON object from the environment; refused in one sentence that names it."""
        try:
            if isinstance(value, str):
                value = json.loads(value) if value.strip() else {}
            return _PRICES.validate_python(value)
        except json.JSONDecodeError as err:
            raise ValueError(f"FERRYMAN_LLM_PRICES is not JSON: {err}") from err
        except ValidationError as err:
            raise ValueError(
                "FERRYMAN_LLM_PRICES must be a JSON object of model -> "
                "{prompt_per_million_usd, completion_per_million_usd}: "
                + error_sentence(err, limit=3)
            ) from err

    @model_validator(mode="after")
    def _check_limits(self) -> Settings:
        if self.retention_days * 24 < IDEMPOTENCY_WINDOW_HOURS:
            raise ValueError(
                "FERRYMAN_RETENTION_DAYS must keep executions at least as long as the "
                f"{IDEMPOTENCY_WINDOW_HOURS} h idempotency window"
            )
        if self.input_limit_bytes >= self.max_body_bytes:
            raise ValueError("FERRYMAN_INPUT_LIMIT_BYTES must be below FERRYMAN_MAX_BODY_BYTES")
        return self

    @property
    def resolved_database_url(self) -> str:
        """`DATABASE_URL`, or a SQLite file in the data directory."""
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'ferryman.db').resolve()}"


def normalise_database_url(url: str) -> str:
    """Pick the async driver for the plain URLs people paste (`postgresql://`, `sqlite://`)."""
    for plain, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
