"""structlog for every process: a console renderer in development, JSON in production.

Standard-library loggers (uvicorn, temporalio, alembic) are routed through the same
processors so one process writes one format. Workflow code never logs with structlog (it
would log again on replay): it uses `workflow.logger`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import structlog

from ferryman.settings import Settings

# The runs the request being answered started (`note_run`), for its one log line. Here, not
# in the API's middleware, so the execution domain (which the worker imports too) can note
# a run without importing the HTTP stack.
_RUNS: ContextVar[list[str] | None] = ContextVar("ferryman_request_runs", default=None)


@contextmanager
def noting_runs() -> Iterator[list[str]]:
    """Within it, `note_run` collects the runs started (the middleware, per request)."""
    runs: list[str] = []
    token = _RUNS.set(runs)
    try:
        yield runs
    finally:
        _RUNS.reset(token)


def note_run(run_id: str) -> None:
    """The request being answered started run `run_id`: its log line names it (a request
    that started several says how many). Outside a request (a worker's start) a no-op."""
    runs = _RUNS.get()
    if runs is not None:
        runs.append(run_id)


def configure_logging(settings: Settings) -> None:
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor
    if settings.log_format == "json":
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.format_exc_info)
    else:
        # Plain tracebacks: rich's would print every frame's local variables.
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # Alembic narrates every migration check at INFO; only its problems matter here.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
