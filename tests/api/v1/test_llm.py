"""`llm` steps end to end, against the local OpenAI-compatible server (tests/support/
llm_server.py): answers, usage and cost, a tool loop through a user activity, a structured
output repaired in one round, a 429 retried after its Retry-After, a 400 not retried, the
provider key nowhere in the history, and seed 003's shape."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from typing import Any

import pytest
from temporalio.client import Client

from tests.support.api import Api
from tests.support.history import decoded_history
from tests.support.llm_server import LlmServer, Reply, ToolCall
from tests.support.polling import eventually
from tests.support.temporal import LLM_API_KEY, PRICED_MODEL


def llm_step(model: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "answer",
        "kind": "llm",
        "with": {
            "model": model,
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "{{ input.question }}"},
            ],
            "max_tokens": 64,
            "temperature": 0.2,
            **extra,
        },
    }


async def run_llm(
    api: Api, step: dict[str, Any], question: str = "hello?", **definition: Any
) -> dict[str, Any]:
    """Register a job with `step`, trigger it, and return the finished run."""
    job = f"llm-{uuid.uuid4().hex[:8]}"
    document = {"id": job, "name": "Ask", "steps": [step], "output": "{{ steps.answer.output }}"}
    await api.create_workflow({**document, **definition})
    response = await api.http.post(
        f"/v1/jobs/{job}/trigger", json={"payload": {"question": question}}, headers=api.admin
    )
    assert response.status_code == 201, response.text
    run_id = response.json()["id"]
    return await eventually(
        lambda: get(api, f"/v1/runs/{run_id}"), lambda r: r["finished_at"] is not None
    )


async def get(api: Api, path: str) -> Any:
    response = await api.http.get(path, headers=api.admin)
    assert response.status_code == 200, response.text
    return response.json()


async def test_an_answer_with_its_usage_cost_and_seed_003_metadata(
    api: Api, llm_server: LlmServer
) -> None:
    model = llm_server.script(
        [Reply(content="Hi there.", prompt_tokens=1000, completion_tokens=200, model="m-2026")],
        model=f"{PRICED_MODEL}",
    )
    run = await run_llm(api, llm_step(model), question="greet me")
    assert run["status"] == "completed", run
    assert run["result"] == "Hi there."
    # 1000 x $2.50 + 200 x $10 per million tokens = 4500 micro-dollars.
    assert run["usage"] == {
        "prompt_tokens": 1000,
        "completion_tokens": 200,
        "total_tokens": 1200,
        "cost_microusd": 4500,
        "calls": 1,
    }
    [usage] = await get(api, f"/v1/runs/{run['id']}/usage")
    assert usage["run_id"] == run["id"] and usage["step_id"] == "answer"
    assert usage["model"] == "m-2026" and usage["provider"].startswith("127.0.0.1:")
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (
        1000,
        200,
        1200,
    )
    assert usage["cost_microusd"] == 4500 and usage["id"] == "answer.call1#1"

    [request] = llm_server.received(model)
    assert request.headers["authorization"] == f"Bearer {LLM_API_KEY}"
    assert request.body["messages"][1] == {"role": "user", "content": "greet me"}
    assert request.body["max_tokens"] == 64 and request.body["temperature"] == 0.2

    execution = await get(api, f"/api/v1/executions/{run['id']}")  # from the memo
    output = execution["step_outputs"]["answer"]
    full = await get(api, f"/api/v1/executions/{run['id']}?include_step_results=true")
    assert full["step_outputs"]["answer"] == output  # folded from history: the same
    assert output["primary"] == "Hi there."
    assert output["metadata"]["model"] == model and output["metadata"]["version"] == "m-2026"
    assert output["metadata"]["params"] == {
        "system_prompt": "You are terse.",
        "user_prompt": "greet me",
        "max_output_tokens": 64,
        "temperature": 0.2,
    }


async def test_a_tool_loop_through_a_user_activity(api: Api, llm_server: LlmServer) -> None:
    model = llm_server.script(
        [
            Reply(tool_calls=[ToolCall("test_echo", {"city": "Oslo"}, id="call_a")]),
            Reply(content="It echoed Oslo."),
        ]
    )
    run = await run_llm(api, llm_step(model, tools=["test.echo"], max_tool_iterations=2))
    assert run["status"] == "completed", run
    assert run["result"] == "It echoed Oslo."
    assert run["usage"]["calls"] == 2

    [tool_call] = await get(api, f"/v1/runs/{run['id']}/tool-calls")
    assert tool_call["tool_name"] == "test.echo" and tool_call["status"] == "completed"
    assert tool_call["input"] == {"city": "Oslo"}
    assert tool_call["output"]["city"] == "Oslo"
    assert tool_call["duration_ms"] >= 0 and tool_call["id"] == "answer.tool1#1"

    first, second = llm_server.received(model)
    [function] = first.body["tools"]
    assert function["function"]["name"] == "test_echo"  # made safe, mapped back
    tool_message = second.body["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "call_a"
    assert json.loads(tool_message["content"])["city"] == "Oslo"


async def test_too_many_tool_rounds_fail_the_step(api: Api, llm_server: LlmServer) -> None:
    again = Reply(tool_calls=[ToolCall("test_echo", {"n": 1})])
    model = llm_server.script([again, again, again])
    run = await run_llm(api, llm_step(model, tools=["test.echo"], max_tool_iterations=1))
    assert run["status"] == "failed"
    assert "max_tool_iterations" in run["error"]


async def test_a_structured_output_repaired_in_one_round(api: Api, llm_server: LlmServer) -> None:
    schema = {
        "type": "object",
        "required": ["answer", "confidence"],
        "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}},
    }
    model = llm_server.script(
        [Reply(content='{"answer": "yes"}'), Reply(content='{"answer": "yes", "confidence": 0.9}')]
    )
    run = await run_llm(api, llm_step(model, output_schema=schema))
    assert run["status"] == "completed", run
    assert run["result"] == {"answer": "yes", "confidence": 0.9}

    first, second = llm_server.received(model)
    assert first.body["response_format"]["type"] == "json_schema"
    assert first.body["response_format"]["json_schema"]["schema"] == schema
    repair = second.body["messages"][-1]["content"]
    assert "confidence" in repair and "required" in repair
    [output] = await get(api, f"/v1/runs/{run['id']}/outputs")
    assert output["output_key"] == "answer" and output["schema"] == schema
    assert output["value"] == {"answer": "yes", "confidence": 0.9}

    never = llm_server.script([Reply(content="not json"), Reply(content="still not")])
    failed = await run_llm(api, llm_step(never, output_schema=schema))
    assert failed["status"] == "failed"
    assert "does not match output_schema after 1 repair" in failed["error"]
    # Its two calls were paid for: the run's totals say so, as its usage rows do.
    rows = await get(api, f"/v1/runs/{failed['id']}/usage")
    assert len(rows) == 2
    assert failed["usage"]["total_tokens"] == sum(r["total_tokens"] for r in rows) > 0


async def test_a_429_is_retried_after_its_retry_after_and_a_400_is_not(
    api: Api, llm_server: LlmServer
) -> None:
    model = llm_server.script(
        [Reply(status=429, error="slow down", retry_after="2"), Reply(content="ok")]
    )
    fast_retry = {"max_attempts": 3, "initial_delay_secs": 0.1}
    run = await run_llm(api, {**llm_step(model), "retry": fast_retry})
    assert run["status"] == "completed" and run["result"] == "ok"
    first, second = llm_server.received(model)
    assert first.body == second.body
    events = await get(api, f"/v1/runs/{run['id']}/events")
    [retried] = [e for e in events if e["type"] == "step.retrying"]
    assert retried["data"]["step_id"] == "answer" and "429" in retried["message"]
    [again] = [e for e in events if e["type"] == "step.started" and e["data"].get("attempt") == 2]
    assert again["data"]["call"] == "call1"
    waited = datetime.fromisoformat(again["created_at"]) - datetime.fromisoformat(
        retried["created_at"]
    )
    assert waited.total_seconds() >= 2  # its Retry-After, though the backoff said 0.1 s

    rejected = llm_server.script([Reply(status=400, error="bad request: {key}")])
    failed = await run_llm(api, {**llm_step(rejected), "retry": fast_retry})
    assert failed["status"] == "failed"
    assert "bad request" in failed["error"]
    assert LLM_API_KEY not in failed["error"]
    assert len(llm_server.received(rejected)) == 1  # not retried


async def test_the_provider_key_is_nowhere_in_the_history(
    api: Api, llm_server: LlmServer, temporal_client: Client
) -> None:
    model = llm_server.script(
        [Reply(status=500, error="upstream echoed {key}"), Reply(content="fine")]
    )
    run = await run_llm(api, {**llm_step(model), "retry": {"initial_delay_secs": 0.1}})
    assert run["status"] == "completed"
    history = await temporal_client.get_workflow_handle(run["id"]).fetch_history()
    assert LLM_API_KEY not in history.to_json()
    bundle = await get(api, f"/v1/runs/{run['id']}/debug-bundle")
    text = json.dumps(bundle)
    assert LLM_API_KEY not in text
    assert bundle["usage"][0]["model"] == model  # the records ride in the bundle


async def test_a_secret_in_a_message_reaches_the_model_and_nothing_else(
    api: Api, llm_server: LlmServer, temporal_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    tail = f"bravo-{uuid.uuid4().hex}"
    secret = f"alpha {tail}"  # two words: streamed in two pieces, in two batches
    monkeypatch.setenv("FERRYMAN_SECRET_LLM_TOKEN", secret)
    model = llm_server.script([Reply(content=f"you said {secret} indeed", delay=0.25)])
    step = llm_step(model, stream=True)
    step["with"]["messages"][1]["content"] = "the token is {{ secrets.LLM_TOKEN }}"
    run = await run_llm(api, step)
    assert run["status"] == "completed", run["error"]
    (received,) = llm_server.received(model)
    assert received.body["messages"][1]["content"] == f"the token is {secret}"
    assert run["result"] == "you said [secret:LLM_TOKEN] indeed"
    history = await decoded_history(temporal_client, run["id"])
    assert "[secret:LLM_TOKEN]" in history
    assert tail not in history  # not even the half that came in a batch of its own
    bundle = json.dumps(await get(api, f"/v1/runs/{run['id']}/debug-bundle"))
    assert tail not in bundle


async def test_a_timed_answer_is_measured(api: Api, llm_server: LlmServer) -> None:
    model = llm_server.script([Reply(content="late", latency=0.3)])
    started = time.monotonic()
    run = await run_llm(api, llm_step(model))
    assert run["status"] == "completed" and time.monotonic() - started >= 0.3
