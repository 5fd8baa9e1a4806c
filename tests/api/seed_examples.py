"""The example objects of the four seed documents (`/work/shared/seeds/*.txt`: the public API
pages the contract, API.md, merges), as the seeds print them: what `test_seeds.py` holds the
OpenAPI document and the live answers to. Values are the seeds' own placeholders; only their
keys and JSON types matter."""

from __future__ import annotations

from typing import Any

# Seed 000: an executions API (`/api/v1/executions`, X-API-Key).
S000_LIST_ITEM: dict[str, Any] = {
    "id": "exec_abc",
    "workflow_id": "workflow_xyz",
    "status": "running",
    "created_at": "2026-01-01T12:00:00Z",
    "updated_at": "2026-01-01T12:01:00Z",
    "input_data": {},
    "output_data": None,
}
S000_LIST: dict[str, Any] = {"items": [S000_LIST_ITEM], "total": 1, "page": 1, "page_size": 20}
S000_GET: dict[str, Any] = {
    "id": "exec_abc",
    "workflow_id": "workflow_xyz",
    "status": "completed",
    "created_at": "2026-01-01T12:00:00Z",
    "updated_at": "2026-01-01T12:05:00Z",
    "input_data": {"query": "latest AI trends"},
    "output_data": {"report": "..."},
    "error": None,
    "checkpoints": [{"id": "chk_1", "name": "start", "created_at": "..."}],
}
S000_CREATE_BODY: dict[str, Any] = {
    "workflow_id": "workflow_xyz",
    "input_data": {"query": "Research quantum computing advancements"},
    "metadata": {"user_id": "user_123", "priority": "high"},
}
S000_CREATED: dict[str, Any] = {
    "id": "exec_new_123",
    "workflow_id": "workflow_xyz",
    "status": "running",
    "created_at": "2026-01-01T12:10:00Z",
}
S000_CHECKPOINT_BODY: dict[str, Any] = {"checkpoint_id": "checkpoint_456"}

# Seed 001: run management (`/v1/runs`, bearer auth).
RUN: dict[str, Any] = {
    "id": "string",
    "job_id": "string",
    "project_id": "string",
    "status": "delayed",
    "attempt": 0,
    "payload": {},
    "result": {},
    "metadata": {"property1": "string", "property2": "string"},
    "error": "string",
    "triggered_by": "string",
    "scheduled_at": "2019-08-24T14:15:22Z",
    "started_at": "2019-08-24T14:15:22Z",
    "finished_at": "2019-08-24T14:15:22Z",
    "heartbeat_at": "2019-08-24T14:15:22Z",
    "next_retry_at": "2019-08-24T14:15:22Z",
    "expires_at": "2019-08-24T14:15:22Z",
    "parent_run_id": "string",
    "priority": 0,
    "idempotency_key": "string",
    "job_version": 0,
    "workflow_step_run_id": "string",
    "max_attempts_override": 0,
    "timeout_secs_override": 0,
    "retry_backoff": "string",
    "retry_initial_delay_secs": 0,
    "retry_max_delay_secs": 0,
    "execution_trace": {
        "queue_wait_ms": 0,
        "dequeue_ms": 0,
        "connect_ms": 0,
        "ttfb_ms": 0,
        "transfer_ms": 0,
        "total_ms": 0,
        "dispatch_ms": 0,
    },
    "debug_mode": True,
    "continuation_of": "string",
    "lineage_depth": 0,
    "tags": {"property1": "string", "property2": "string"},
    "job_version_id": "string",
    "created_by": "string",
    "batch_id": "string",
    "concurrency_key": "string",
    "created_at": "2019-08-24T14:15:22Z",
}
RUN_STATUSES = [
    "delayed", "queued", "dequeued", "executing", "waiting", "completed", "failed",
    "timed_out", "crashed", "system_failed", "canceled", "expired", "dead_letter",
]  # fmt: skip
BULK_RESULT: dict[str, Any] = {
    "results": [{"id": "string", "status": "string", "error": "string"}],
    "total": 0,
    "canceled": 0,
    "failed": 0,
}
DLQ_REPLAYED: dict[str, Any] = {"replayed": [RUN], "count": 0}
ERROR: dict[str, Any] = {"error": "string", "request_id": "string"}
EVENT: dict[str, Any] = {
    "id": "string",
    "run_id": "string",
    "type": "string",
    "level": "string",
    "message": "string",
    "data": {},
    "created_at": "2019-08-24T14:15:22Z",
}
CHECKPOINT: dict[str, Any] = {
    "id": "string",
    "run_id": "string",
    "sequence": 0,
    "source": "string",
    "state": {},
    "created_at": "2019-08-24T14:15:22Z",
}
USAGE: dict[str, Any] = {
    "id": "string",
    "run_id": "string",
    "provider": "string",
    "model": "string",
    "prompt_tokens": 0,
    "completion_tokens": 0,
    "total_tokens": 0,
    "cost_microusd": 0,
    "created_at": "2019-08-24T14:15:22Z",
}
TOOL_CALL: dict[str, Any] = {
    "id": "string",
    "run_id": "string",
    "tool_name": "string",
    "input": {},
    "output": {},
    "duration_ms": 0,
    "status": "string",
    "created_at": "2019-08-24T14:15:22Z",
}
OUTPUT: dict[str, Any] = {
    "id": "string",
    "run_id": "string",
    "output_key": "string",
    "schema": {},
    "value": {},
    "created_at": "2019-08-24T14:15:22Z",
}
DEBUG_BUNDLE: dict[str, Any] = {
    "run": RUN,
    "events": [EVENT],
    "checkpoints": [CHECKPOINT],
    "usage": [USAGE],
    "tool_calls": [TOOL_CALL],
    "outputs": [OUTPUT],
}
DEPENDENCY_STATUS: dict[str, Any] = {
    "run_id": "string",
    "job_id": "string",
    "status": "delayed",
    "dependencies": [
        {
            "id": "string",
            "job_id": "string",
            "depends_on_job_id": "string",
            "condition": "string",
            "created_at": "2019-08-24T14:15:22Z",
        }
    ],
    "dependencies_satisfied": True,
}
IDEMPOTENCY_RESET: dict[str, Any] = {"status": "string", "run_id": "string"}
RESCHEDULE_BODY: dict[str, Any] = {"scheduled_at": "2019-08-24T14:15:22Z"}
RUN_IDS_BODY: dict[str, Any] = {"run_ids": ["string"]}

# Seed 002: run asynchronously, list with a cursor, get with step results, stop.
S002_EXECUTION: dict[str, Any] = {
    "execution_id": "683b2c3d4e5f6a7b8c9d0e1f",
    "workflow_id": "665f1a2b3c4d5e6f7a8b9c0d",
    "workflow_name": "Welcome Email Workflow",
    "status": "success",
    "started_at": "2026-01-15T10:30:00+00:00",
    "completed_at": "2026-01-15T10:30:03+00:00",
}
S002_ACCEPTED: dict[str, Any] = {
    "execution_id": "683b2c3d4e5f6a7b8c9d0e1f",
    "workflow_id": "665f1a2b3c4d5e6f7a8b9c0d",
    "status": "running",
    "created_at": "2026-01-15T10:30:00+00:00",
}
S002_GET: dict[str, Any] = {
    "execution_id": "683b2c3d4e5f6a7b8c9d0e1f",
    "workflow_id": "665f1a2b3c4d5e6f7a8b9c0d",
    "status": "running",
    "started_at": "2026-01-15T10:30:00+00:00",
    "completed_at": None,
    "error": None,
}
S002_GET_WITH_STEPS: dict[str, Any] = {
    **S002_GET,
    "status": "success",
    "completed_at": "2026-01-15T10:30:03+00:00",
    "steps": [
        {"index": 0, "status": "completed", "result": "..."},
        {"index": 1, "status": "completed", "result": "..."},
    ],
}
S002_STOPPED: dict[str, Any] = {"execution_id": "683b2c3d4e5f6a7b8c9d0e1f", "status": "stopped"}

# Seed 003: one execution with its inputs, per-step outputs and final output.
S003_STEP_OUTPUT: dict[str, Any] = {
    "step_id": "step1",
    "status": "completed",
    "started_at": "2025-12-04T11:48:10Z",
    "completed_at": "2025-12-04T11:48:39Z",
    "output": "A breathtaking panoramic view...",
    "primary": "A breathtaking panoramic view...",
    "metadata": {
        "model": "openai-chatgpt-5",
        "version": "0.0.1",
        "params": {
            "system_prompt": "You are a helpful assistant",
            "user_prompt": "A majestic mountain landscape",
            "max_output_tokens": 512,
        },
    },
}
S003_GET: dict[str, Any] = {
    "execution_id": "69ae8c7b-7500-4a45-b7c0-348b8cc2665b",
    "workflow_id": "50741f40-8621-4d46-8a91-dff4d873be98",
    "status": "completed",
    "started_at": "2025-12-04T11:48:10Z",
    "completed_at": "2025-12-04T11:50:53Z",
    "inputs": {"prompt": "A majestic mountain landscape"},
    "step_outputs": {"step1": S003_STEP_OUTPUT},
    "output": ["https://storage.googleapis.com/uploads/image1.png"],
}
# Fields its table documents beyond the example.
S003_MORE: dict[str, Any] = {"bulk_id": None, "error": None, "error_cause": None}
S003_UNAUTHORIZED: dict[str, Any] = {"error": "Invalid or missing API key"}
S003_NOT_FOUND: dict[str, Any] = {"error": "execution not found"}
