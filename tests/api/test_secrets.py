"""A secret an activity resolved never leaves it: not in history, events, errors, outputs,
heartbeats, logs or any API answer, whole or URL-encoded, for built-in and user steps."""

from __future__ import annotations

import json
import logging
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import structlog
from temporalio.client import Client

from tests.support.api import Api
from tests.support.history import decoded_history
from tests.support.polling import eventually

# What a URL carries as it is (a template puts a secret into a URL unencoded).
URL_SAFE = "s3cr3t-Value_42.x~"
# Characters that URL-encoding changes, for the encoded spellings.
AWKWARD = "s3cr3t/&value x+1"
MARKER = "[secret:TOKEN]"


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    value = str(getattr(request, "param", URL_SAFE))
    monkeypatch.setenv("FERRYMAN_SECRET_TOKEN", value)
    return value


def spellings(value: str) -> list[str]:
    return sorted({value, quote(value, safe=""), quote(value), quote_plus(value)})


async def every_answer(api: Api, execution_id: str) -> str:
    """What the API says of an execution, everywhere it says something."""
    base = f"/api/v1/executions/{execution_id}"
    answers = [
        await api.http.get(base, params={"include_step_results": "true"}, headers=api.admin),
        await api.http.get(f"{base}/events", headers=api.admin),
        await api.http.get("/api/v1/failures", headers=api.admin),
        await api.http.get("/api/v1/executions", params={"limit": 100}, headers=api.admin),
    ]
    checkpoints = await api.http.get(f"{base}/checkpoints", headers=api.admin)
    answers.append(checkpoints)
    for checkpoint in checkpoints.json()["items"]:
        answers.append(
            await api.http.get(f"{base}/checkpoints/{checkpoint['id']}", headers=api.admin)
        )
    assert all(answer.status_code == 200 for answer in answers)
    return "\n".join(answer.text for answer in answers)


def assert_absent(secret: str, text: str, where: str) -> None:
    for spelling in spellings(secret):
        assert spelling not in text, f"the secret ({spelling!r}) is in {where}"


def logged(records: list[logging.LogRecord], events: list[MutableMapping[str, Any]]) -> str:
    """Every log line: stdlib records and structlog events (the worker's own lines)."""
    return "\n".join(
        [r.getMessage() for r in records] + [json.dumps(e, default=str) for e in events]
    )


async def finished(api: Api, execution_id: str) -> dict[str, Any]:
    return await eventually(
        lambda: api.execution(execution_id),
        lambda e: e["status"] in ("completed", "failed"),
    )


async def test_a_secret_in_a_failing_http_url_is_redacted_everywhere(
    api: Api,
    http_target: str,
    secret: str,
    temporal_client: Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as events:
        execution_id = await run_leaky_http(api, http_target)
    failed = await finished(api, execution_id)
    assert failed["error"] == "dead_letter"
    assert MARKER in failed["error_cause"]  # the URL is there, the value is not
    assert_absent(secret, await decoded_history(temporal_client, execution_id), "the history")
    assert_absent(secret, await every_answer(api, execution_id), "an API answer")
    assert_absent(secret, logged(caplog.records, events), "the logs")
    # An expected failure is one structured line per attempt, never a traceback.
    lines = [e for e in events if e["event"] == "step attempt failed"]
    assert [(e["step"], e["attempt"]) for e in lines] == [("call", 1), ("call", 2)]
    assert all(MARKER in e["error"] for e in lines)
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING and r.exc_info]
    assert not loud, [r.getMessage() for r in loud]


async def run_leaky_http(api: Api, http_target: str) -> str:
    await api.create_workflow(
        {
            "id": "leaky-http",
            "name": "Leaky",
            "steps": [
                {
                    "id": "call",
                    "kind": "http",
                    "with": {"url": http_target + "/fail?api_key={{ secrets.TOKEN }}"},
                    "retry": {"max_attempts": 2, "backoff": "fixed", "initial_delay_secs": 0.1},
                }
            ],
        }
    )
    # The run finishes inside the caller's capture: the lines of both attempts are seen.
    execution_id = await api.run("leaky-http")
    await finished(api, execution_id)
    return execution_id


@pytest.mark.parametrize("secret", [AWKWARD], indirect=True)
@pytest.mark.parametrize("fail", [False, True], ids=["returns", "raises"])
async def test_a_user_activity_cannot_leak_a_secret(
    api: Api,
    secret: str,
    temporal_client: Client,
    caplog: pytest.LogCaptureFixture,
    fail: bool,
) -> None:
    """`test.secretive` heartbeats the secret, logs it, and returns it (plain and encoded) or
    raises it in its message and details."""
    workflow_id = f"leaky-activity-{'raises' if fail else 'returns'}"
    await api.create_workflow(
        {
            "id": workflow_id,
            "name": "Leaky activity",
            "steps": [
                {
                    "id": "use",
                    "kind": "activity",
                    "activity": "test.secretive",
                    "with": {"secret": "{{ secrets.TOKEN }}", "fail": fail},
                }
            ],
            "output": "{{ steps.use.output }}",
        }
    )
    with structlog.testing.capture_logs() as events:
        execution_id = await api.run(workflow_id)
        done = await finished(api, execution_id)
    if fail:
        assert done["status"] == "failed" and MARKER in done["error_cause"]
    else:
        assert done["output"] == {"seen": MARKER, "encoded": MARKER}
    history = await decoded_history(temporal_client, execution_id)
    assert_absent(secret, history, "the history")
    assert_absent(secret, await every_answer(api, execution_id), "an API answer")
    assert_absent(secret, logged(caplog.records, events), "the logs")
    assert any("using [secret:TOKEN]" in r.getMessage() for r in caplog.records)
