"""The OpenAPI examples of the `/v1` wire bodies (`schemas`, `job_schemas`), kept apart from
the models.

They tell one story. `welcome-email` v3 (JOB_DEFINITION) drafts a welcome email in an `llm`
step (`draft`, which looks the customer up with the `crm.lookup` tool) and sends it in an
`http` step (`send`); RUN_ID is its run for Ada, triggered as TRIGGER says, and its trace,
events, checkpoints, model calls and state are what the API answers for that run. A batch of
`import-orders` runs and a redriven `ship-orders` run (that job depends on `import-orders`)
show the calls on many runs. tests/api/test_openapi.py checks that every example validates
against its schema.

Data only (this module imports no model), and longer than a module should be because the
story reads in one place: the models stay short in `schemas` and `job_schemas`.
"""

from __future__ import annotations

from typing import Any

# Runs -----------------------------------------------------------------------------------

RUN_ID = "exec_01JD3ZK8Q4V7M2N5P8R1T4W7Y0"
BATCH_ID = "batch_01KF0MZVZR7ZDX8SK1DZP7MXFF"
BATCH_RUN_IDS = ("exec_01KF0MZW0DHDZZHMNS4181SKMX", "exec_01KF0MZW0FH73NVMMGX4KPCH9W")
KEY_ID = "key_3f9a1c2b7d4e8a60"  # the API key that triggered the runs (`created_by`)
INPUT: dict[str, Any] = {"email": "ada@example.com"}
SYSTEM_PROMPT = "Write a short, warm welcome email. Answer in JSON: subject and body."
DRAFT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["subject", "body"],
    "properties": {"subject": {"type": "string"}, "body": {"type": "string"}},
}
JOB_DEFINITION: dict[str, Any] = {
    "id": "welcome-email",
    "name": "Welcome Email",
    "description": "Drafts a welcome email from the customer's CRM profile and sends it",
    "input_schema": {
        "type": "object",
        "required": ["email"],
        "properties": {"email": {"type": "string"}},
    },
    "defaults": {
        "retry": {
            "max_attempts": 3,
            "backoff": "exponential",
            "initial_delay_secs": 1,
            "max_delay_secs": 60,
        },
        "timeout_secs": 300,
    },
    "steps": [
        {
            "id": "draft",
            "kind": "llm",
            "with": {
                "model": "gpt-4o-mini",
                "messages": [
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": "The new customer is {{ input.email }}."},
                ],
                "tools": ["crm.lookup"],
                "output_schema": DRAFT_SCHEMA,
            },
        },
        {
            "id": "send",
            "kind": "http",
            "depends_on": ["draft"],
            "with": {
                "method": "POST",
                "url": "https://mail.example.com/v1/messages",
                "headers": {"Authorization": "Bearer {{ secrets.MAIL_TOKEN }}"},
                "json": {
                    "to": "{{ input.email }}",
                    "subject": "{{ steps.draft.output.subject }}",
                    "text": "{{ steps.draft.output.body }}",
                },
            },
        },
    ],
    "output": {"sent": "{{ steps.send.output.status == 202 }}"},
    "presets": {"ada": INPUT},
}
DRAFT_OUTPUT: dict[str, Any] = {
    "subject": "Welcome to Acme, Ada!",
    "body": "Hi Ada, thanks for choosing the Pro plan. Your workspace is ready: reply to "
    "this email whenever you need a hand.",
}
SEND_OUTPUT: dict[str, Any] = {
    "status": 202,
    "headers": {"content-type": "application/json", "content-length": "39"},
    "elapsed_ms": 318.956,
    "timing": {"connect_ms": 41.207, "ttfb_ms": 318.544, "transfer_ms": 0.412},
    "json": {"id": "msg_7Hq2Lw9c", "status": "queued"},
}
TRACE: dict[str, Any] = {
    "queue_wait_ms": 16.295,
    "dequeue_ms": 28.586,
    "connect_ms": 41.207,
    "ttfb_ms": 318.544,
    "transfer_ms": 0.412,
    "total_ms": 3256.012,
    "dispatch_ms": 4.773,
}
# gpt-4o-mini at $0.15 (prompt) and $0.60 (completion) per million tokens: 39 + 75.
USAGE: dict[str, Any] = {
    "prompt_tokens": 427,
    "completion_tokens": 83,
    "total_tokens": 510,
    "cost_microusd": 114,
    "calls": 2,
}

# A few of the welcome-email run's fields (`Run`'s own example; RUN has them all).
RUN_BRIEF: dict[str, Any] = {
    "id": RUN_ID,
    "job_id": "welcome-email",
    "project_id": "default",
    "status": "completed",
    "attempt": 1,
    "payload": {"email": "ada@example.com"},
    "result": {"sent": True},
    "triggered_by": "manual",
    "tags": {"team": "growth"},
    "created_at": "2026-01-15T10:30:00Z",
}
TRIGGER: dict[str, Any] = {
    "payload": {"email": "ada@example.com"},
    "tags": {"team": "growth"},
    "priority": 5,
    "idempotency_key": "signup-ada",
}
BATCH_TRIGGER: dict[str, Any] = {"items": [{"payload": {"n": 1}}, {"payload": {"n": 2}}]}


def _run(**fields: Any) -> dict[str, Any]:
    """A run as the serializer writes it: every field, `fields` over a just-triggered run's."""
    return {
        "id": RUN_ID,
        "job_id": "welcome-email",
        "project_id": "default",
        "status": "queued",
        "attempt": 0,
        "payload": INPUT,
        "result": None,
        "metadata": {},
        "error": None,
        "triggered_by": "manual",
        "scheduled_at": None,
        "started_at": None,
        "finished_at": None,
        "heartbeat_at": None,
        "next_retry_at": None,
        "expires_at": None,
        "parent_run_id": None,
        "priority": 0,
        "idempotency_key": None,
        "job_version": 1,
        "workflow_step_run_id": None,
        "max_attempts_override": None,
        "timeout_secs_override": None,
        "retry_backoff": "exponential",
        "retry_initial_delay_secs": 1.0,
        "retry_max_delay_secs": 300.0,
        "execution_trace": {
            "queue_wait_ms": None,
            "dequeue_ms": None,
            "connect_ms": 0.0,
            "ttfb_ms": 0.0,
            "transfer_ms": 0.0,
            "total_ms": None,
            "dispatch_ms": None,
        },
        "debug_mode": False,
        "continuation_of": None,
        "lineage_depth": 0,
        "tags": {},
        "job_version_id": None,
        "created_by": KEY_ID,
        "batch_id": None,
        "concurrency_key": None,
        "created_at": None,
        "usage": None,
        **fields,
    }


def _queued_trace(total_ms: float) -> dict[str, Any]:
    """A queued run's trace, read alone: nothing measured yet but its age."""
    return {
        "queue_wait_ms": None,
        "dequeue_ms": None,
        "connect_ms": 0.0,
        "ttfb_ms": 0.0,
        "transfer_ms": 0.0,
        "total_ms": total_ms,
        "dispatch_ms": None,
    }


# The welcome-email run, as `GET /v1/runs/{id}` (and its debug bundle) shows it once closed.
RUN: dict[str, Any] = _run(
    status="completed",
    attempt=1,
    result={"sent": True},
    started_at="2026-01-15T10:30:00.016295Z",
    finished_at="2026-01-15T10:30:03.247881Z",
    priority=5,
    idempotency_key="signup-ada",
    job_version=3,
    retry_max_delay_secs=60.0,
    execution_trace=TRACE,
    tags={"team": "growth"},
    job_version_id="jv_7",
    created_at="2026-01-15T10:30:00Z",
    usage=USAGE,
)


# BATCH_TRIGGER, sent to `POST /v1/jobs/import-orders/batch-trigger`.
BATCH_RUNS: list[Any] = [
    _run(
        id=BATCH_RUN_IDS[0],
        job_id="import-orders",
        payload={"n": 1},
        job_version_id="jv_2",
        execution_trace=_queued_trace(31.552),
        batch_id=BATCH_ID,
        created_at="2026-01-15T11:00:00.141862Z",
    ),
    _run(
        id=BATCH_RUN_IDS[1],
        job_id="import-orders",
        payload={"n": 2},
        job_version_id="jv_2",
        execution_trace=_queued_trace(27.904),
        batch_id=BATCH_ID,
        created_at="2026-01-15T11:00:00.143517Z",
    ),
]

# `bulk-cancel` of the two batch runs (still open) and the welcome-email run (closed).
BULK_ITEMS: list[Any] = [
    {"id": BATCH_RUN_IDS[0], "status": "canceled", "error": None},
    {"id": BATCH_RUN_IDS[1], "status": "canceled", "error": None},
    {
        "id": RUN_ID,
        "status": "error",
        "error": "execution is completed; it cannot be stopped",
    },
]

# A redriven run keeps its id, creation and trigger, and starts over as `queued`.
REPLAYED_RUN: dict[str, Any] = _run(
    id="exec_01KEZ97AZRZ60FEN5RNWEENNX2",
    job_id="ship-orders",
    payload={"order_id": "ord_1042"},
    job_version=2,
    execution_trace=_queued_trace(38823805.594),
    job_version_id="jv_5",
    created_at="2026-01-14T22:15:07.512406Z",
)

# What the welcome-email run recorded ----------------------------------------------------

# Its checkpoint deltas, as recorded (a step's output aside); history timestamps are the
# workflow's clock, `isoformat()`ed.
START_DELTA: dict[str, Any] = {
    "sequence": 0,
    "step_id": "start",
    "created_at": "2026-01-15T10:30:00.016295+00:00",
}
DRAFT_DELTA: dict[str, Any] = {
    "sequence": 1,
    "step_id": "draft",
    "created_at": "2026-01-15T10:30:02.915207+00:00",
    "status": "completed",
    "attempts": 1,
    "started_at": "2026-01-15T10:30:00.016295+00:00",
    "details": {
        "llm": {
            "model": "gpt-4o-mini",
            "params": {
                "system_prompt": SYSTEM_PROMPT,
                "user_prompt": "The new customer is ada@example.com.",
                "max_output_tokens": None,
                "temperature": None,
            },
            "output_schema": DRAFT_SCHEMA,
            "tools": ["crm.lookup"],
            "stream": False,
        },
        "usage": USAGE,
    },
}
SEND_DELTA: dict[str, Any] = {
    "sequence": 2,
    "step_id": "send",
    "created_at": "2026-01-15T10:30:03.247881+00:00",
    "status": "completed",
    "attempts": 1,
    "started_at": "2026-01-15T10:30:02.915207+00:00",
    "activity_id": "send#1",
}


def _event(event_id: int, kind: str, message: str, data: Any, at: str) -> dict[str, Any]:
    return {
        "id": str(event_id),
        "run_id": RUN_ID,
        "type": kind,
        "level": "info",
        "message": message,
        "data": data,
        "created_at": at,
    }


def _llm_call(label: str, activity: str) -> dict[str, Any]:
    return {"step_id": "draft", "attempt": 1, "activity": activity, "call": label}


# Every event of the run (ids: its history event's id x 10 + n).
EVENTS: list[Any] = [
    _event(
        10,
        "execution.started",
        "execution of Welcome Email v3 started",
        {"workflow_id": "welcome-email", "version": 3, "input": INPUT},
        "2026-01-15T10:30:00.004118Z",
    ),
    _event(
        80,
        "checkpoint.created",
        "checkpoint 0 (start)",
        {"sequence": 0, "step_id": "start"},
        "2026-01-15T10:30:00.045102Z",
    ),
    _event(
        100,
        "step.started",
        "step draft attempt 1 started",
        _llm_call("call1", "ferryman.llm.chat"),
        "2026-01-15T10:30:00.045377Z",
    ),
    _event(
        160,
        "step.started",
        "step draft attempt 1 started",
        _llm_call("tool1", "crm.lookup"),
        "2026-01-15T10:30:01.231456Z",
    ),
    _event(
        220,
        "step.started",
        "step draft attempt 1 started",
        _llm_call("call2", "ferryman.llm.chat"),
        "2026-01-15T10:30:01.334511Z",
    ),
    _event(
        280,
        "step.completed",
        "step draft completed",
        {**DRAFT_DELTA, "output": DRAFT_OUTPUT},
        "2026-01-15T10:30:02.921644Z",
    ),
    _event(
        281,
        "checkpoint.created",
        "checkpoint 1 (draft)",
        {"sequence": 1, "step_id": "draft"},
        "2026-01-15T10:30:02.921644Z",
    ),
    _event(
        290,
        "step.started",
        "step send attempt 1 started",
        {"step_id": "send", "attempt": 1, "activity": "ferryman.http"},
        "2026-01-15T10:30:02.921902Z",
    ),
    _event(
        350,
        "step.completed",
        "step send completed",
        SEND_DELTA,
        "2026-01-15T10:30:03.255310Z",
    ),
    _event(
        351,
        "checkpoint.created",
        "checkpoint 2 (send)",
        {"sequence": 2, "step_id": "send"},
        "2026-01-15T10:30:03.255310Z",
    ),
    _event(
        380,
        "execution.completed",
        "execution completed",
        {"output": {"sent": True}},
        "2026-01-15T10:30:03.256012Z",
    ),
]


def _checkpoint(delta: dict[str, Any], outputs: dict[str, Any], at: str) -> dict[str, Any]:
    """One checkpoint with the whole state right after it."""
    sequence = delta["sequence"]
    return {
        "id": f"chk_{RUN_ID}_{sequence}",
        "run_id": RUN_ID,
        "sequence": sequence,
        "source": delta["step_id"],
        "state": {
            "input": INPUT,
            "outputs": outputs,
            "steps": dict.fromkeys(outputs, "completed"),
            "checkpoint": delta,
        },
        "created_at": at,
    }


CHECKPOINTS: list[Any] = [
    _checkpoint(START_DELTA, {}, "2026-01-15T10:30:00.016295Z"),
    _checkpoint(DRAFT_DELTA, {"draft": DRAFT_OUTPUT}, "2026-01-15T10:30:02.915207Z"),
    _checkpoint(
        SEND_DELTA,
        {"draft": DRAFT_OUTPUT, "send": SEND_OUTPUT},
        "2026-01-15T10:30:03.247881Z",
    ),
]

# While `send` runs: `draft` is done.
DRAFT_STATE: dict[str, Any] = {
    "status": "completed",
    "attempts": 1,
    "started_at": "2026-01-15T10:30:00.016295Z",
    "completed_at": "2026-01-15T10:30:02.915207Z",
    "output": DRAFT_OUTPUT,
    "error": None,
}
RUN_STATE: dict[str, Any] = {
    "run_id": RUN_ID,
    "status": "executing",
    "source": "query",
    "steps": {
        "draft": DRAFT_STATE,
        "send": {
            "status": "running",
            "attempts": 1,
            "started_at": "2026-01-15T10:30:02.915207Z",
            "completed_at": None,
            "output": None,
            "error": None,
        },
    },
    "outputs": {"draft": DRAFT_OUTPUT},
}

# The draft step's two model calls: the first asks for `crm.lookup`, the second answers.
MODEL_CALLS: list[Any] = [
    {
        "id": "draft.call1#1",
        "run_id": RUN_ID,
        "step_id": "draft",
        "provider": "api.openai.com",
        "model": "gpt-4o-mini-2024-07-18",
        "prompt_tokens": 186,
        "completion_tokens": 19,
        "total_tokens": 205,
        "cost_microusd": 39,
        "created_at": "2026-01-15T10:30:01.212734Z",
    },
    {
        "id": "draft.call2#1",
        "run_id": RUN_ID,
        "step_id": "draft",
        "provider": "api.openai.com",
        "model": "gpt-4o-mini-2024-07-18",
        "prompt_tokens": 241,
        "completion_tokens": 64,
        "total_tokens": 305,
        "cost_microusd": 75,
        "created_at": "2026-01-15T10:30:02.907318Z",
    },
]
TOOL_CALL: dict[str, Any] = {
    "id": "draft.tool1#1",
    "run_id": RUN_ID,
    "step_id": "draft",
    "tool_name": "crm.lookup",
    "input": INPUT,
    "output": {"name": "Ada Lovelace", "company": "Analytical Engines Ltd", "plan": "pro"},
    "duration_ms": 85.713,
    "status": "completed",
    "created_at": "2026-01-15T10:30:01.231456Z",
}
OUTPUT: dict[str, Any] = {
    "id": "out_draft_1",
    "run_id": RUN_ID,
    "output_key": "draft",
    "schema": DRAFT_SCHEMA,
    "value": DRAFT_OUTPUT,
    "created_at": "2026-01-15T10:30:02.915207Z",
}

# Abridged: the first and the last of the run's 38 history events, without the start's
# input, memo and search attributes.
TEMPORAL_RUN_ID = "019bc134-7844-7436-abc6-a3f533794435"
HISTORY: dict[str, Any] = {
    "events": [
        {
            "eventId": "1",
            "eventTime": "2026-01-15T10:30:00.004118259Z",
            "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
            "taskId": "1048587",
            "workflowExecutionStartedEventAttributes": {
                "workflowType": {"name": "welcome-email"},
                "taskQueue": {"name": "ferryman", "kind": "TASK_QUEUE_KIND_NORMAL"},
                "workflowTaskTimeout": "10s",
                "originalExecutionRunId": TEMPORAL_RUN_ID,
                "identity": "4821@ferryman-api",
                "firstExecutionRunId": TEMPORAL_RUN_ID,
                "attempt": 1,
                "firstWorkflowTaskBackoff": "0s",
                "workflowId": RUN_ID,
                "priority": {"priorityKey": 2},
            },
        },
        {
            "eventId": "38",
            "eventTime": "2026-01-15T10:30:03.256012884Z",
            "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED",
            "taskId": "1048651",
            "workflowExecutionCompletedEventAttributes": {
                "result": {
                    "payloads": [
                        {
                            "metadata": {"encoding": "anNvbi9wbGFpbg=="},
                            "data": "eyJzdGF0dXMiOiJjb21wbGV0ZWQiLCJvdXRwdXQiOnsic2VudCI6dHJ1ZX19",
                        }
                    ]
                },
                "workflowTaskCompletedEventId": "34",
            },
        },
    ]
}
DEBUG_BUNDLE: dict[str, Any] = {
    "run": RUN,
    "events": EVENTS,
    "checkpoints": CHECKPOINTS,
    "usage": MODEL_CALLS,
    "tool_calls": [TOOL_CALL],
    "outputs": [OUTPUT],
    "history": HISTORY,
}

# Jobs, dependencies and schedules (`job_schemas`) ---------------------------------------

DEPENDENCY_ID = "dep_01JD3ZK8Q4V7M2N5P8R1T4W7Y0"
# `ship-orders` runs wait for the latest `import-orders` run to complete.
DEPENDENCY_REQUEST: dict[str, Any] = {
    "depends_on_job_id": "import-orders",
    "condition": "completed",
}
DEPENDENCY: dict[str, Any] = {
    "id": DEPENDENCY_ID,
    "job_id": "ship-orders",
    "depends_on_job_id": "import-orders",
    "condition": "completed",
    "created_at": "2026-01-12T08:03:41.200931Z",
}
# The latest `import-orders` run (this morning's) has completed.
DEPENDENCY_STATE: dict[str, Any] = {
    **DEPENDENCY,
    "satisfied": True,
    "latest_run_id": "exec_01KF03TP0S4TFF59TDWH9EDD1R",
    "latest_run_status": "completed",
}
DEPENDENCY_STATUS: dict[str, Any] = {
    "run_id": RUN_ID,
    "job_id": "publish-report",
    "status": "waiting",
    "dependencies": [],
    "dependencies_satisfied": False,
}

# `welcome-email`'s `defaults` (JOB_DEFINITION), as a job shows them.
JOB_DEFAULTS: dict[str, Any] = {
    "max_attempts": 3,
    "retry_backoff": "exponential",
    "retry_initial_delay_secs": 1.0,
    "retry_max_delay_secs": 60.0,
    "timeout_secs": 300.0,
    "heartbeat_secs": None,
}
JOB: dict[str, Any] = {
    "id": "welcome-email",
    "name": JOB_DEFINITION["name"],
    "description": JOB_DEFINITION["description"],
    "job_version": 3,
    "job_version_id": "jv_7",
    "latest_version": 3,
    "disabled": False,
    "defaults": JOB_DEFAULTS,
    "dead_letter": True,
    "input_schema": JOB_DEFINITION["input_schema"],
    "presets": JOB_DEFINITION["presets"],
    "definition": JOB_DEFINITION,
    "created_at": "2026-01-08T14:20:05.118204Z",
    "updated_at": "2026-01-14T16:42:10.870415Z",
}

SCHEDULE_ID = "sched_01JD3ZK8Q4V7M2N5P8R1T4W7Y0"
SCHEDULE_CREATE: dict[str, Any] = {
    "job_id": "daily-report",
    "cron": "0 6 * * 1-5",
    "payload": {"team": "growth"},
    "timezone": "Europe/Paris",
}
SCHEDULE: dict[str, Any] = {
    "id": SCHEDULE_ID,
    "job_id": "daily-report",
    "job_version": 3,
    "cron": "0 6 * * 1-5",
    "timezone": "Europe/Paris",
    "payload": {"team": "growth"},
    "paused": False,
    "next_run_at": "2026-11-25T05:00:00Z",
    "created_at": "2026-11-24T09:12:31Z",
}
