"""The OpenAPI examples of the `/api/v1` wire bodies (`schemas`), kept apart from the models.

They tell one story: `welcome-email` (version 2) looks a user up, waits for an `approve`
event, then sends the email. Execution EXECUTION_ID completed (its ULID dates it
2024-11-20T05:09:22.788Z); FAILED_EXECUTION_ID dead-lettered on `send`; STUCK_EXECUTION_ID
keeps retrying `send`. tests/api/test_openapi.py checks that every example validates against
its schema.

Data only, and it imports no model (`schemas` imports it). Over 400 lines on purpose: the
examples reuse one another (a page holds the executions shown alone, an execution its
checkpoints and step outputs), so the one story stays in one module, grouped by resource.
"""

from __future__ import annotations

from typing import Any

EXECUTION_ID = "exec_01JD3ZK8Q4V7M2N5P8R1T4W7Y0"
FAILED_EXECUTION_ID = "exec_01JD439R7Y8DNHZVQH60WD8EJR"
STUCK_EXECUTION_ID = "exec_01JD46320GWD4B6DPMFQBSQD4T"
WORKFLOW_ID = "welcome-email"
WORKFLOW_NAME = "Welcome Email Workflow"
MAIL_URL = "https://mail.example.com/v1/messages"
CREATED_AT = "2024-11-20T05:09:22.793114Z"


def _checkpoint_id(execution_id: str, sequence: int) -> str:
    return f"chk_{execution_id}_{sequence}"


def _action(
    kind: str, execution_id: str, description: str, path: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "action": kind,
        "description": description,
        "method": "POST",
        "endpoint": f"/api/v1/executions/{execution_id}/{path}",
        "body": body,
    }


# Workflows ------------------------------------------------------------------------------

DEFINITION_V1: dict[str, Any] = {
    "id": WORKFLOW_ID,
    "name": WORKFLOW_NAME,
    "description": "Look the new user up, wait for approval, then send the welcome email",
    "input_schema": {
        "type": "object",
        "required": ["email"],
        "properties": {"email": {"type": "string"}},
    },
    "steps": [
        {
            "id": "profile",
            "kind": "http",
            "with": {"method": "GET", "url": "https://api.example.com/users/{{ input.email }}"},
        },
        {"id": "approval", "kind": "wait", "with": {"signal": "approve"}, "timeout_secs": 86400},
        {
            "id": "send",
            "kind": "http",
            "depends_on": ["profile", "approval"],
            "if": "steps.approval.output.approved",
            "with": {
                "method": "POST",
                "url": MAIL_URL,
                "json": {
                    "to": "{{ input.email }}",
                    "template": "welcome",
                    "name": "{{ steps.profile.output.json.name }}",
                },
            },
        },
    ],
    "output": {"sent": "{{ steps.send.output.status == 202 }}"},
}
# Version 2 gives every step five attempts (2 s, 4 s, 8 s, 16 s apart) instead of three.
DEFINITION: dict[str, Any] = {
    **DEFINITION_V1,
    "defaults": {
        "retry": {
            "max_attempts": 5,
            "backoff": "exponential",
            "initial_delay_secs": 2,
            "max_delay_secs": 60,
        }
    },
}
WORKFLOW: dict[str, Any] = {
    "id": WORKFLOW_ID,
    "name": WORKFLOW_NAME,
    "description": DEFINITION["description"],
    "version": 2,
    "latest_version": 2,
    "disabled": False,
    "created_at": "2024-11-18T14:02:37.218406Z",
    "updated_at": "2024-11-19T09:47:12.530882Z",
    "definition": DEFINITION,
}
VERSIONS: list[Any] = [
    {"version": 1, "created_at": "2024-11-18T14:02:37.219327Z", "definition": DEFINITION_V1},
    {"version": 2, "created_at": "2024-11-19T09:47:12.531903Z", "definition": DEFINITION},
]


# Starting an execution ------------------------------------------------------------------

INPUT: dict[str, Any] = {"email": "ada@example.com"}
CREATE_EXECUTION: dict[str, Any] = {
    "workflow_id": WORKFLOW_ID,
    "input_data": INPUT,
    "metadata": {"user_id": "user_123"},
}
EXECUTION_ACCEPTED: dict[str, Any] = {
    "execution_id": EXECUTION_ID,
    "workflow_id": WORKFLOW_ID,
    "status": "queued",
    "created_at": CREATED_AT,
}
EXECUTION_CREATED: dict[str, Any] = {"id": EXECUTION_ID, **EXECUTION_ACCEPTED}


# Checkpoints ----------------------------------------------------------------------------

# The checkpoint index of EXECUTION_ID (the memo keeps milliseconds).
CHECKPOINTS: list[Any] = [
    {
        "id": _checkpoint_id(EXECUTION_ID, sequence),
        "name": name,
        "sequence": sequence,
        "created_at": created_at,
    }
    for sequence, (name, created_at) in enumerate(
        [
            ("start", "2024-11-20T05:09:22.801000Z"),
            ("profile", "2024-11-20T05:09:22.912000Z"),
            ("approval", "2024-11-20T05:21:47.402000Z"),
            ("send", "2024-11-20T05:21:47.581000Z"),
        ]
    )
]
# What resolves FAILED_EXECUTION_ID, whose last checkpoint is 2 (`approval`).
LAST_CHECKPOINT: dict[str, Any] = {"checkpoint_id": _checkpoint_id(FAILED_EXECUTION_ID, 2)}


# Step results ---------------------------------------------------------------------------

# The output of an `http` step: status, headers, timings and the parsed JSON body.
PROFILE_OUTPUT: dict[str, Any] = {
    "status": 200,
    "headers": {"content-type": "application/json", "content-length": "39"},
    "elapsed_ms": 104.62,
    "timing": {"connect_ms": 38.115, "ttfb_ms": 101.902, "transfer_ms": 2.718},
    "json": {"name": "Ada Lovelace", "plan": "pro"},
}
SEND_OUTPUT: dict[str, Any] = {
    "status": 202,
    "headers": {"content-type": "application/json", "content-length": "43"},
    "elapsed_ms": 163.407,
    "timing": {"connect_ms": 41.35, "ttfb_ms": 160.981, "transfer_ms": 2.426},
    "json": {"id": "msg_5Rk2Wq8Tz", "status": "queued"},
}
# A `wait` step's output is the payload of the event that released it.
APPROVAL_OUTPUT: dict[str, Any] = {"approved": True}

# Checkpoint 2 of EXECUTION_ID with the state it saved.
CHECKPOINT_STATE: dict[str, Any] = {
    "id": _checkpoint_id(EXECUTION_ID, 2),
    "name": "approval",
    "sequence": 2,
    "created_at": "2024-11-20T05:21:47.402716Z",
    "state": {
        "input": INPUT,
        "outputs": {"profile": PROFILE_OUTPUT, "approval": APPROVAL_OUTPUT},
        "steps": {"profile": "completed", "approval": "completed"},
        "checkpoint": {
            "sequence": 2,
            "step_id": "approval",
            "created_at": "2024-11-20T05:21:47.402716+00:00",
            "status": "completed",
            "attempts": 1,
            "started_at": "2024-11-20T05:09:22.801563+00:00",
        },
    },
}

SEND_ERROR = (
    "step 'send' failed after 5 attempts: HttpRetryableError: "
    f"POST {MAIL_URL} answered 503 Service Unavailable"
)
# The steps of EXECUTION_ID, read with `include_step_results=true`.
STEP_TIMES: dict[str, tuple[str, str]] = {
    "profile": ("2024-11-20T05:09:22.801563Z", "2024-11-20T05:09:22.912408Z"),
    # A `wait` step starts with the execution (it depends on nothing) and ends on the event.
    "approval": ("2024-11-20T05:09:22.801563Z", "2024-11-20T05:21:47.402716Z"),
    "send": ("2024-11-20T05:21:47.402716Z", "2024-11-20T05:21:47.581930Z"),
}
STEPS: list[Any] = [
    {
        "index": index,
        "step_id": step_id,
        "kind": kind,
        "status": "completed",
        "result": output,
        "attempts": 1,
        "started_at": STEP_TIMES[step_id][0],
        "completed_at": STEP_TIMES[step_id][1],
        "error": None,
    }
    for index, (step_id, kind, output) in enumerate(
        [
            ("profile", "http", PROFILE_OUTPUT),
            ("approval", "wait", APPROVAL_OUTPUT),
            ("send", "http", SEND_OUTPUT),
        ]
    )
]
# `send` of FAILED_EXECUTION_ID, out of attempts.
FAILED_STEP: dict[str, Any] = {
    "index": 2,
    "step_id": "send",
    "kind": "http",
    "status": "failed",
    "result": None,
    "attempts": 5,
    "started_at": "2024-11-20T06:20:12.118655Z",
    "completed_at": None,
    "error": SEND_ERROR,
}

HTTP_METADATA: dict[str, Any] = {"kind": "http", "attempts": 1, "activity": "ferryman.http"}
STEP_OUTPUTS: dict[str, Any] = {
    step_id: {
        "step_id": step_id,
        "status": "completed",
        "started_at": STEP_TIMES[step_id][0],
        "completed_at": STEP_TIMES[step_id][1],
        "output": output,
        "primary": primary,
        "metadata": metadata,
    }
    for step_id, output, primary, metadata in [
        ("profile", PROFILE_OUTPUT, PROFILE_OUTPUT["json"], HTTP_METADATA),
        ("approval", APPROVAL_OUTPUT, APPROVAL_OUTPUT, {"kind": "wait", "attempts": 1}),
        ("send", SEND_OUTPUT, SEND_OUTPUT["json"], HTTP_METADATA),
    ]
}


# Failures and stuck executions ----------------------------------------------------------

FAILED_ACTIONS: list[Any] = [
    _action(
        "replay_from_last_checkpoint",
        FAILED_EXECUTION_ID,
        "a new execution that keeps the completed steps",
        "replay",
        LAST_CHECKPOINT,
    ),
    _action(
        "rollback",
        FAILED_EXECUTION_ID,
        "go back to the last checkpoint, paused, then resume",
        "rollback",
        LAST_CHECKPOINT,
    ),
    _action(
        "replay_from_start",
        FAILED_EXECUTION_ID,
        "a new execution from the start, same input",
        "replay",
    ),
]
# STUCK_EXECUTION_ID: `send` failed twice and runs its third attempt.
STUCK: dict[str, Any] = {
    "reason": "step_retrying",
    "since": None,
    "detail": "a step keeps failing and is on attempt 3; "
    "next attempt at 2024-11-20T07:09:16.577412+00:00",
    "actions": [
        _action(
            "pause",
            STUCK_EXECUTION_ID,
            "hold further attempts while the cause is fixed",
            "pause",
        ),
        _action("terminate", STUCK_EXECUTION_ID, "stop the execution at once", "stop?force=true"),
    ],
}
FAILURE: dict[str, Any] = {
    "execution_id": FAILED_EXECUTION_ID,
    "workflow_id": WORKFLOW_ID,
    "workflow_name": WORKFLOW_NAME,
    "status": "failed",
    "error": "dead_letter",
    "error_class": "HttpRetryableError",
    "failed_step": "send",
    "attempts": 5,
    "last_error": SEND_ERROR,
    "failed_at": "2024-11-20T06:20:43.104871Z",
    "stuck": None,
    "actions": FAILED_ACTIONS,
}
STUCK_FAILURE: dict[str, Any] = {
    "execution_id": STUCK_EXECUTION_ID,
    "workflow_id": WORKFLOW_ID,
    "workflow_name": WORKFLOW_NAME,
    "status": "running",
    "error": None,
    "error_class": None,
    "failed_step": None,
    "attempts": None,
    "last_error": None,
    "failed_at": None,
    "stuck": STUCK,
    "actions": STUCK["actions"],
}


# Executions -----------------------------------------------------------------------------

WAITING_ON: dict[str, Any] = {
    "step": "approval",
    "kind": "wait",
    "since": "2024-11-20T05:09:22.801563Z",
    "signal": "approve",
    "until": "2024-11-21T05:09:22.801563Z",  # its `timeout_secs`: 86400
    "run_id": None,
}
# EXECUTION_ID as a list row shows it once completed (no step results).
EXECUTION_ROW: dict[str, Any] = {
    "id": EXECUTION_ID,
    "execution_id": EXECUTION_ID,
    "workflow_id": WORKFLOW_ID,
    "workflow_name": WORKFLOW_NAME,
    "version": 2,
    "project_id": "default",
    "status": "completed",
    "created_at": CREATED_AT,
    "updated_at": "2024-11-20T05:21:47.590214Z",
    "started_at": "2024-11-20T05:09:22.801563Z",
    "completed_at": "2024-11-20T05:21:47.590214Z",
    "input_data": INPUT,
    "inputs": INPUT,
    "output_data": {"sent": True},
    "output": {"sent": True},
    "metadata": {"user_id": "user_123"},
    "error": None,
    "error_cause": None,
    "error_class": None,
    "failed_step": None,
    "failed_attempts": None,
    "bulk_id": None,
    "continuation_of": None,
    "lineage_depth": 0,
    "checkpoints": CHECKPOINTS,
    "stuck": None,
    "waiting_on": [],
    "steps": None,
    "step_outputs": None,
}
# As `GET /executions/{id}` shows it: the finished steps' outputs from the memo (`steps`
# is null unless `include_step_results=true`).
EXECUTION: dict[str, Any] = {**EXECUTION_ROW, "step_outputs": STEP_OUTPUTS}
# The same, read with `include_step_results=true`.
EXECUTION_WITH_STEPS: dict[str, Any] = {**EXECUTION, "steps": STEPS}
# The same execution earlier, waiting for its `approve` event, as a list row.
WAITING_EXECUTION: dict[str, Any] = {
    **EXECUTION_ROW,
    "status": "waiting",
    "updated_at": CHECKPOINTS[1]["created_at"],
    "completed_at": None,
    "output_data": None,
    "output": None,
    "checkpoints": CHECKPOINTS[:2],
    "waiting_on": [WAITING_ON],
}
# ?workflow_id=welcome-email&status=completed
EXECUTION_PAGE: dict[str, Any] = {
    "items": [EXECUTION_ROW],
    "total": 1,
    "page": 1,
    "page_size": 20,
    "next_cursor": None,
}
# ?limit=1
EXECUTION_CURSOR_PAGE: dict[str, Any] = {
    "items": [WAITING_EXECUTION],
    "total": 2,
    "page": None,
    "page_size": None,
    "next_cursor": "c3.eyJDbG9zZVRpbWUiOiI5OTk5LTEyLTMxVDIzOjU5OjU5WiIsIlN0YX"
    "J0VGltZSI6IjIwMjQtMTEtMjBUMDU6MDk6MjIuNzk2ODQxWiIsIlJ1bklEIjoiMDE5MzQ3Zj"
    "ktYTJlYy03OTJiLWIwOTktY2ExOWY1MjhkYTIxIn0.0.nsAHlUk9eusMwBhQ",
}


# Events ---------------------------------------------------------------------------------

# `approval` of EXECUTION_ID completing on the `approve` event.
EVENT: dict[str, Any] = {
    "id": 270,
    "type": "step.completed",
    "level": "info",
    "message": "step approval completed",
    "data": {
        "sequence": 2,
        "step_id": "approval",
        "created_at": "2024-11-20T05:21:47.402716+00:00",
        "status": "completed",
        "attempts": 1,
        "started_at": "2024-11-20T05:09:22.801563+00:00",
        "output": APPROVAL_OUTPUT,
    },
    "created_at": "2024-11-20T05:21:47.409853Z",
}
# The first events of EXECUTION_ID (`?limit=3`); ids are history event id * 10 + n.
FIRST_EVENTS: list[Any] = [
    {
        "id": 10,
        "type": "execution.started",
        "level": "info",
        "message": f"execution of {WORKFLOW_NAME} v2 started",
        "data": {"workflow_id": WORKFLOW_ID, "version": 2, "input": INPUT},
        "created_at": "2024-11-20T05:09:22.796841Z",
    },
    {
        "id": 80,
        "type": "checkpoint.created",
        "level": "info",
        "message": "checkpoint 0 (start)",
        "data": {"sequence": 0, "step_id": "start"},
        "created_at": "2024-11-20T05:09:22.823177Z",
    },
    {
        "id": 100,
        "type": "step.started",
        "level": "info",
        "message": "step profile attempt 1 started",
        "data": {"step_id": "profile", "attempt": 1, "activity": "ferryman.http"},
        "created_at": "2024-11-20T05:09:22.823405Z",
    },
]


# API keys -------------------------------------------------------------------------------

# The key `POST /keys` made from KeyCreate's example; `prefix` is the key's first 10 characters.
KEY: dict[str, Any] = {
    "id": "key_9fdb6819486e9256",
    "project_id": "default",
    "name": "dashboard",
    "prefix": "fm_PtOyJSD",
    "scopes": ["executions:read"],
    "created_at": "2024-11-20T08:41:06.207716Z",
    "last_used_at": None,
    "revoked_at": None,
}
# The answer to that `POST /keys`: the only time the key itself is shown.
KEY_CREATED: dict[str, Any] = {**KEY, "key": "fm_PtOyJSDbleo47ct4hN8YbWfbJJXGNApTq2E7rv32dRk"}
# The admin key `ferryman up` made for the project.
DEV_KEY: dict[str, Any] = {
    "id": "key_58f7a228a9d9024b",
    "project_id": "default",
    "name": "dev",
    "prefix": "fm_7El-2GY",
    "scopes": ["admin"],
    "created_at": "2024-11-18T13:58:02.440187Z",
    "last_used_at": "2024-11-20T08:41:05.993021Z",
    "revoked_at": None,
}
