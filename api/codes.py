"""Every error code the API answers with: the stable `code` of the error envelope.

Clients, the CLI and dashboards branch on these, never on the sentence beside them. A code
is added here with its one HTTP status (`ferryman.api.envelope.HTTP_STATUS`), documented in
the README's "Errors" table, and never renamed.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # 400
    INVALID_JSON = "invalid_json"
    INVALID_YAML = "invalid_yaml"
    EXECUTION_FINISHED = "execution_finished"  # a stop of a finished one (seed 002: 400)
    TEMPORAL_REJECTED = "temporal_rejected"
    # 401, 403
    INVALID_API_KEY = "invalid_api_key"
    INSUFFICIENT_SCOPE = "insufficient_scope"
    PROJECT_MISMATCH = "project_mismatch"
    CSRF_TOKEN_INVALID = "csrf_token_invalid"
    # 404
    ROUTE_NOT_FOUND = "route_not_found"
    EXECUTION_NOT_FOUND = "execution_not_found"
    CHECKPOINT_NOT_FOUND = "checkpoint_not_found"
    WORKFLOW_NOT_FOUND = "workflow_not_found"
    WORKFLOW_VERSION_NOT_FOUND = "workflow_version_not_found"
    WAIT_STEP_NOT_FOUND = "wait_step_not_found"
    KEY_NOT_FOUND = "key_not_found"
    SCHEDULE_NOT_FOUND = "schedule_not_found"
    # 405
    METHOD_NOT_ALLOWED = "method_not_allowed"
    # 409
    EXECUTION_CLOSED = "execution_closed"  # the execution has finished
    EXECUTION_NOT_STARTED = "execution_not_started"  # a rollback before any step has run
    EXECUTION_PAUSED = "execution_paused"
    EXECUTION_NOT_PAUSED = "execution_not_paused"
    EXECUTION_CHANGED = "execution_changed"
    RUN_NOT_DEAD_LETTERED = "run_not_dead_lettered"
    RUN_NOT_DELAYED = "run_not_delayed"
    RUN_NOT_FINISHED = "run_not_finished"  # replay of a run that is still open
    EXECUTION_EXISTS = "execution_exists"
    WORKFLOW_EXISTS = "workflow_exists"
    WORKFLOW_DISABLED = "workflow_disabled"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    DEPENDENCY_EXISTS = "dependency_exists"
    # 413
    BODY_TOO_LARGE = "body_too_large"
    INPUT_TOO_LARGE = "input_too_large"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    DEFINITION_TOO_LARGE = "definition_too_large"
    # 422
    VALIDATION_ERROR = "validation_error"
    DEFINITION_INVALID = "definition_invalid"
    INPUT_INVALID = "input_invalid"
    INVALID_CURSOR = "invalid_cursor"
    INVALID_FILTER = "invalid_filter"
    PAGE_TOO_DEEP = "page_too_deep"
    RUNS_NOT_REPLAYABLE = "runs_not_replayable"  # a bulk replay refused whole (`details`)
    DEPENDENCY_CYCLE = "dependency_cycle"  # a job on itself, or a loop: runs would wait forever
    # 5xx
    INTERNAL_ERROR = "internal_error"
    TEMPORAL_UNAVAILABLE = "temporal_unavailable"
    TEMPORAL_OVERLOADED = "temporal_overloaded"
    TEMPORAL_TIMEOUT = "temporal_timeout"
    WORKER_UNAVAILABLE = "worker_unavailable"  # no worker applied a control in time
