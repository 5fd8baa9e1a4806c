"""`ferryman.llm.chat` against the local OpenAI-compatible server (tests/support/llm_server.py):
in `ActivityEnvironment`, and through the session's worker for what only the worker adds
(the redaction of the guard, the workflow stream, the failure a workflow sees)."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from temporalio import workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.common import RetryPolicy
from temporalio.contrib.workflow_streams import WorkflowStream, WorkflowStreamClient
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from ferryman.activities import registry
from ferryman.activities.llm import ChunkSink, LlmChat
from ferryman.activities.llm_contract import CHAT_ACTIVITY, CHUNKS_TOPIC, Chunk, LlmCall, LlmReply
from ferryman.activities.llm_wire import retry_after, server_sent_data
from ferryman.activities.secrets import CURRENT, Redactor
from ferryman.processes import free_port
from ferryman.settings import Settings
from ferryman.validation import error_sentence
from tests.support.activities import Slow
from tests.support.llm_server import LlmServer, Reply, ToolCall
from tests.support.polling import eventually

SETTINGS_KEY = "sk-settings-0123456789"
PRICE = {"prompt_per_million_usd": 0.15, "completion_per_million_usd": 0.6}


@pytest.fixture
def settings(llm_server: LlmServer) -> Settings:
    return Settings(llm_base_url=llm_server.base_url, llm_api_key=SETTINGS_KEY)


@pytest.fixture(scope="module", autouse=True)
def user_activities() -> None:
    registry.load_modules(["tests.support.activities"])


class Collected:
    """A chunk stream that keeps what it is given (ActivityEnvironment has no workflow)."""

    def __init__(self) -> None:
        self.chunks: list[Chunk] = []

    def __call__(self) -> ChunkSink:
        async def send(chunk: Chunk) -> None:
            self.chunks.append(chunk)

        return send


def ask(model: str, **fields: Any) -> LlmCall:
    messages = [{"role": "user", "content": "hello"}]
    return LlmCall(
        execution_id="exec_llm", step_id="answer", model=model, messages=messages, **fields
    )


async def chat(
    settings: Settings,
    call: LlmCall,
    chunks: Collected | None = None,
    env: ActivityEnvironment | None = None,
) -> LlmReply:
    llm = LlmChat(settings, chunks or Collected())
    reply: LlmReply = await (env or ActivityEnvironment()).run(llm.chat, call)
    return reply


def text_of(chunks: list[Chunk]) -> str:
    return "".join(chunk.text for chunk in chunks)


async def failure(settings: Settings, call: LlmCall) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        await chat(settings, call)
    return caught.value


# A completion


async def test_a_completion_with_usage_and_cost(llm_server: LlmServer) -> None:
    model = llm_server.script(
        [Reply(content="Hi there", prompt_tokens=1200, completion_tokens=300)]
    )
    settings = Settings(llm_base_url=llm_server.base_url, llm_prices={model: PRICE})
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    reply = await chat(settings, ask(model, temperature=0.2, max_tokens=64, response_format=fmt))
    assert reply.provider == f"127.0.0.1:{httpx.URL(llm_server.base_url).port}"
    assert (reply.model, reply.content, reply.finish_reason) == (model, "Hi there", "stop")
    assert reply.tool_calls == []
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (1200, 300)
    assert reply.usage.total_tokens == 1500
    assert reply.cost_microusd == 360  # 1200 x 0.15 + 300 x 0.6 micro-dollars
    assert reply.duration_ms > 0
    (sent,) = llm_server.received(model)
    assert sent.path == "/v1/chat/completions"
    assert sent.body == {
        "model": model,
        "messages": [{"role": "user", "content": "hello"}],
        "temperature": 0.2,
        "max_tokens": 64,
        "response_format": fmt,
    }


async def test_unset_fields_are_not_sent_and_an_unpriced_model_costs_nothing(
    settings: Settings, llm_server: LlmServer
) -> None:
    model = llm_server.script([Reply(content="ok")])
    reply = await chat(settings, ask(model))
    assert reply.cost_microusd == 0
    assert set(llm_server.received(model)[0].body) == {"model", "messages"}


async def test_a_price_is_found_by_the_model_asked_for_then_by_the_one_that_answered(
    llm_server: LlmServer,
) -> None:
    dated = f"dated-{uuid.uuid4().hex[:6]}"
    priced = Reply(model=dated, prompt_tokens=1_000_000, completion_tokens=0)
    asked = llm_server.script([priced, priced])
    cheap = {"prompt_per_million_usd": 1.0, "completion_per_million_usd": 1.0}
    by_answer = Settings(llm_base_url=llm_server.base_url, llm_prices={dated: PRICE})
    both = Settings(llm_base_url=llm_server.base_url, llm_prices={dated: PRICE, asked: cheap})
    assert (await chat(by_answer, ask(asked))).cost_microusd == 150_000
    reply = await chat(both, ask(asked))
    assert reply.model == dated and reply.cost_microusd == 1_000_000


# Streaming


async def test_a_streamed_answer_is_assembled_and_published_in_batches(
    settings: Settings, llm_server: LlmServer
) -> None:
    text = "The quick brown fox jumps over the lazy dog"
    calls = [ToolCall("test_echo", {"n": 1, "words": ["a", "b"]}, id="call_x")]
    model = llm_server.script([Reply(content=text, tool_calls=calls, prompt_tokens=5, delay=0.05)])
    collected = Collected()
    heartbeats: list[Any] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: heartbeats.append(details)
    reply = await chat(settings, ask(model, stream=True, call=3, attempt=2), collected, env)
    assert reply.content == text and reply.finish_reason == "tool_calls"
    assert [(c.id, c.name, json.loads(c.arguments)) for c in reply.tool_calls] == [
        ("call_x", "test_echo", {"n": 1, "words": ["a", "b"]})
    ]
    assert (reply.usage.prompt_tokens, reply.usage.total_tokens) == (5, 12)
    assert reply.model == model
    # One chunk per batch interval, not one per token; all of the text, in order.
    assert text_of(collected.chunks) == text
    assert 1 < len(collected.chunks) < len(text.split())
    assert {(c.step_id, c.call, c.attempt) for c in collected.chunks} == {("answer", 3, 2)}
    assert len(heartbeats) > len(text.split())
    body = llm_server.received(model)[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


async def test_streamed_text_is_published_before_the_answer_ends(
    settings: Settings, llm_server: LlmServer
) -> None:
    hold = threading.Event()
    model = llm_server.script([Reply(content="first second third", hold=hold, hold_after=2)])
    collected = Collected()
    running = asyncio.create_task(chat(settings, ask(model, stream=True), collected))
    try:
        await eventually(lambda: asyncio.sleep(0, collected.chunks), bool)
        assert not running.done()
        assert text_of(collected.chunks) == "first "
    finally:
        hold.set()
    assert (await running).content == "first second third"
    assert text_of(collected.chunks) == "first second third"


async def test_a_stream_that_breaks_off_is_retryable(
    settings: Settings, llm_server: LlmServer
) -> None:
    broken = b'data: {"choices": [{"index": 0, "delta": {"content": "half"}}]}\n\n'
    model = llm_server.script([Reply(raw=broken)])
    error = await failure(settings, ask(model, stream=True))
    assert error.type == "LlmUnavailable" and not error.non_retryable
    assert "broke off" in error.message


async def test_an_error_inside_the_stream_is_retryable(
    settings: Settings, llm_server: LlmServer
) -> None:
    raw = b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n'
    model = llm_server.script([Reply(raw=raw)])
    error = await failure(settings, ask(model, stream=True))
    assert error.type == "LlmUnavailable" and "overloaded" in error.message


async def test_a_terse_compatible_stream_is_understood(
    settings: Settings, llm_server: LlmServer
) -> None:
    """No tool call id, no usage, no `[DONE]`: the finish reason is enough of an end."""
    pieces = [
        {"tool_calls": [{"index": 0, "function": {"name": "test_echo", "arguments": '{"a":'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": " 1}"}}]},
    ]
    events = [{"choices": [{"index": 0, "delta": delta}]} for delta in pieces]
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    raw = "".join(f"data: {json.dumps(event)}\n\n" for event in events).encode()
    model = llm_server.script([Reply(raw=raw)])
    reply = await chat(settings, ask(model, stream=True))
    assert [(c.id, c.name, c.arguments) for c in reply.tool_calls] == [
        ("call_0", "test_echo", '{"a": 1}')
    ]
    assert reply.usage.total_tokens == 0 and reply.model == model


async def test_server_sent_events_are_read_as_the_format_says() -> None:
    body = (
        b": a comment\n"
        b"event: message\nid: 7\ndata: one\n\n"
        b"data:two\ndata: lines\r\n\r\n"
        b"data: [DONE]"  # the last event without its blank line
    )
    response = httpx.Response(200, content=body)
    assert [data async for data in server_sent_data(response)] == ["one", "two\nlines", "[DONE]"]


# Tools


async def test_tools_become_function_definitions_and_calls_come_back(
    settings: Settings, llm_server: LlmServer
) -> None:
    calls = [ToolCall("test_echo", {"q": "x"}), ToolCall("test_slow", {"seconds": 1})]
    model = llm_server.script([Reply(tool_calls=calls)])
    reply = await chat(settings, ask(model, tools=["test.echo", "test.slow"]))
    assert reply.content is None and reply.finish_reason == "tool_calls"
    assert [(c.id, c.name, json.loads(c.arguments)) for c in reply.tool_calls] == [
        ("call_1", "test_echo", {"q": "x"}),
        ("call_2", "test_slow", {"seconds": 1}),
    ]
    echo, slow = llm_server.received(model)[0].body["tools"]
    assert echo == {
        "type": "function",
        "function": {
            "name": "test_echo",
            "description": "The test.echo activity.",  # it has no docstring
            "parameters": {"type": "object"},  # it takes any object
        },
    }
    assert slow["function"]["name"] == "test_slow"
    assert slow["function"]["description"].startswith("Sleeps, heartbeating")
    assert slow["function"]["parameters"] == Slow.model_json_schema()


async def test_an_unknown_tool_fails_at_once_naming_it(
    settings: Settings, llm_server: LlmServer
) -> None:
    model = llm_server.script([Reply(content="never")])
    error = await failure(settings, ask(model, tools=["test.echo", "weather.lookup"]))
    assert error.non_retryable and error.type == "LlmUnknownTool"
    assert "'weather.lookup'" in error.message
    assert llm_server.received(model) == []


async def test_two_tools_under_one_function_name_are_refused(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry._REGISTRY, "test_echo", registry.registered()["test.echo"])
    error = await failure(settings, ask("any", tools=["test.echo", "test_echo"]))
    assert error.type == "LlmToolNameClash" and error.non_retryable
    assert "'test.echo' and 'test_echo'" in error.message


# Failures


async def test_rate_limiting_is_retryable_after_the_retry_after_it_names(
    settings: Settings, llm_server: LlmServer
) -> None:
    model = llm_server.script([Reply(status=429, retry_after="7", error="Rate limit reached")])
    error = await failure(settings, ask(model))
    assert error.type == "LlmRateLimited" and not error.non_retryable
    assert error.next_retry_delay == timedelta(seconds=7)
    assert "429" in error.message and "Rate limit reached" in error.message


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retryable(
    settings: Settings, llm_server: LlmServer, status: int
) -> None:
    model = llm_server.script([Reply(status=status)])
    error = await failure(settings, ask(model))
    assert error.type == "LlmUnavailable" and not error.non_retryable
    assert error.next_retry_delay is None


async def test_a_rejected_call_fails_at_once_with_the_providers_message(
    settings: Settings, llm_server: LlmServer
) -> None:
    said = "Invalid value for 'temperature': must be at most 2. " + "x" * 1000
    model = llm_server.script([Reply(status=400, error=said)])
    error = await failure(settings, ask(model, temperature=5))
    assert error.type == "LlmRejected" and error.non_retryable
    assert "answered 400: Invalid value for 'temperature': must be at most 2." in error.message
    assert len(error.message) < 600  # truncated


async def test_an_unknown_model_is_rejected(settings: Settings) -> None:
    error = await failure(settings, ask("no-such-model"))
    assert error.type == "LlmRejected" and "`no-such-model` does not exist" in error.message


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [(b"<html>oops</html>", "not a chat completion"), (b'{"choices": []}', "without a message")],
)
async def test_an_answer_that_is_not_a_completion_fails_at_once(
    settings: Settings, llm_server: LlmServer, raw: bytes, fragment: str
) -> None:
    model = llm_server.script([Reply(raw=raw)])
    error = await failure(settings, ask(model))
    assert error.type == "LlmBadAnswer" and error.non_retryable
    assert fragment in error.message


async def test_unreachable_and_slow_providers_are_retryable(
    llm_server: LlmServer,
) -> None:
    nowhere = Settings(llm_base_url=f"http://127.0.0.1:{free_port()}/v1")
    refused = await failure(nowhere, ask("any"))
    assert refused.type == "LlmUnavailable" and not refused.non_retryable
    assert "ConnectError" in refused.message
    impatient = Settings(llm_base_url=llm_server.base_url, llm_timeout_secs=0.2)
    model = llm_server.script([Reply(content="late", latency=1.0)])
    slow = await failure(impatient, ask(model))
    assert slow.type == "LlmUnavailable" and "within 0.2s" in slow.message


@pytest.mark.parametrize("base_url", ["ftp://models.test/v1", "http://[::1/v1"])
async def test_a_base_url_that_is_not_http_fails_at_once(settings: Settings, base_url: str) -> None:
    error = await failure(settings, ask("any", base_url=base_url))
    assert error.type == "LlmInvalidCall" and error.non_retryable
    assert base_url in error.message


def test_retry_after_is_read_in_seconds_milliseconds_or_as_a_date() -> None:
    def read(**headers: str) -> timedelta | None:
        return retry_after(httpx.Headers({k.replace("_", "-"): v for k, v in headers.items()}))

    assert read(retry_after="2.5") == timedelta(seconds=2.5)
    assert read(retry_after_ms="1500", retry_after="9") == timedelta(milliseconds=1500)
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    delay = read(retry_after=in_a_minute)
    assert delay is not None and timedelta(seconds=55) < delay <= timedelta(seconds=60)
    past = format_datetime(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True)
    assert read(retry_after=past) == timedelta(0)
    assert read(retry_after="soon") is None and read(retry_after="inf") is None and read() is None


# The key


async def test_the_settings_key_is_sent_as_a_bearer_token(
    settings: Settings, llm_server: LlmServer
) -> None:
    model = llm_server.script([Reply(content="ok")])
    await chat(settings, ask(model))
    assert llm_server.received(model)[0].headers["authorization"] == f"Bearer {SETTINGS_KEY}"


async def test_a_named_secret_is_the_key_of_its_step(
    settings: Settings, llm_server: LlmServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FERRYMAN_SECRET_TEAM_LLM", "sk-team-secret")
    model = llm_server.script([Reply(content="ok")])
    await chat(settings, ask(model, api_key_secret="TEAM_LLM"))
    assert llm_server.received(model)[0].headers["authorization"] == "Bearer sk-team-secret"
    missing = await failure(settings, ask(model, api_key_secret="NOT_THERE"))
    assert missing.type == "SecretMissing" and missing.non_retryable
    assert "FERRYMAN_SECRET_NOT_THERE" in missing.message


async def test_the_settings_key_never_goes_to_a_base_url_of_the_step(
    settings: Settings, llm_server: LlmServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another origin (here the same server as `localhost`) is a definition's choice: it
    gets the secret the step names, never the operator's key."""
    elsewhere = llm_server.base_url.replace("127.0.0.1", "localhost")
    model = llm_server.script([Reply(content="ok"), Reply(content="ok"), Reply(content="ok")])
    await chat(settings, ask(model, base_url=elsewhere))
    monkeypatch.setenv("FERRYMAN_SECRET_OWN", "sk-own")
    await chat(settings, ask(model, base_url=elsewhere, api_key_secret="OWN"))
    await chat(settings, ask(model, base_url=llm_server.base_url + "/"))  # the configured one
    first, second, third = llm_server.received(model)
    assert "authorization" not in first.headers
    assert second.headers["authorization"] == "Bearer sk-own"
    assert third.headers["authorization"] == f"Bearer {SETTINGS_KEY}"


async def test_a_base_url_of_the_step_passes_the_egress_check(
    settings: Settings, llm_server: LlmServer
) -> None:
    from ferryman.activities import http

    http.configure(block_private_networks=True)
    try:
        model = llm_server.script([Reply(content="configured: trusted")])
        assert (await chat(settings, ask(model))).content == "configured: trusted"
        elsewhere = llm_server.base_url.replace("127.0.0.1", "localhost")
        refused = await failure(settings, ask(model, base_url=elsewhere))
    finally:
        http.configure(block_private_networks=False)
    assert refused.type == "EgressRefused" and refused.non_retryable


@pytest.mark.parametrize("secret", [None, "ECHOED"])
async def test_a_key_the_provider_echoes_is_redacted_from_the_error(
    settings: Settings, llm_server: LlmServer, monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    monkeypatch.setenv("FERRYMAN_SECRET_ECHOED", "sk-echoed-secret")
    key, marker = ("sk-echoed-secret", "ECHOED") if secret else (SETTINGS_KEY, "LLM_API_KEY")
    model = llm_server.script([Reply(status=401, error="Incorrect API key provided: {key}.")])
    error = await failure(settings, ask(model, api_key_secret=secret))
    assert error.type == "LlmRejected"
    assert key not in error.message and key not in str(error.details)
    assert f"Incorrect API key provided: [secret:{marker}]." in error.message


async def test_the_workers_redactor_knows_the_key(
    settings: Settings, llm_server: LlmServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard's redactor (one per attempt) learns whichever key the call used, so it is
    taken out of the result, heartbeats and log lines as well."""
    monkeypatch.setenv("FERRYMAN_SECRET_NAMED", "sk-named")
    model = llm_server.script([Reply(content="ok"), Reply(content="ok")])
    for secret, key, marker in [
        (None, SETTINGS_KEY, "LLM_API_KEY"),
        ("NAMED", "sk-named", "NAMED"),
    ]:
        redactor = Redactor()
        token = CURRENT.set(redactor)
        try:
            await chat(settings, ask(model, api_key_secret=secret))
        finally:
            CURRENT.reset(token)
        assert redactor.text(f"x {key} y") == f"x [secret:{marker}] y"


def test_a_tail_that_could_begin_a_secret_is_held_back() -> None:
    redactor = Redactor()
    assert redactor.open_tail("any text") == 0  # no secret: nothing waits
    redactor.remember("T", "alpha bravo")
    assert redactor.open_tail("you said alpha b") == len("alpha b")
    assert redactor.open_tail("you said a") == 1
    assert redactor.open_tail("you said alpha bravo") == 0  # whole: redacted, not held
    assert redactor.open_tail("you said nothing") == 0
    assert redactor.open_tail("x alpha%20") == len("alpha%20")  # its URL-encoded spelling


# Settings


@pytest.mark.parametrize(
    ("prices", "fragment"),
    [
        ("{not json", "FERRYMAN_LLM_PRICES is not JSON"),
        ("[1, 2]", "FERRYMAN_LLM_PRICES must be a JSON object"),
        ('{"m": {"prompt_per_million_usd": 1}}', "m.completion_per_million_usd: Field required"),
        ('{"m": {"prompt_per_million_usd": -1, "completion_per_million_usd": 1}}', "m.prompt"),
        ('{"m": {"prompt_per_million_usd": 1, "completion_per_million_usd": 1, "x": 1}}', "m.x"),
    ],
)
def test_bad_prices_are_refused_at_startup(
    monkeypatch: pytest.MonkeyPatch, prices: str, fragment: str
) -> None:
    monkeypatch.setenv("FERRYMAN_LLM_PRICES", prices)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert fragment in error_sentence(refused.value)


def test_llm_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FERRYMAN_LLM_BASE_URL", "http://127.0.0.1:11434/v1/")
    monkeypatch.setenv("FERRYMAN_LLM_API_KEY", "sk-env")
    monkeypatch.setenv("FERRYMAN_LLM_PRICES", json.dumps({"gpt-4o-mini": PRICE}))
    settings = Settings()
    assert settings.llm_base_url == "http://127.0.0.1:11434/v1"
    assert settings.llm_api_key is not None and settings.llm_api_key.get_secret_value() == "sk-env"
    assert "sk-env" not in repr(settings)
    assert settings.llm_prices["gpt-4o-mini"].completion_per_million_usd == 0.6
    monkeypatch.setenv("FERRYMAN_LLM_BASE_URL", "api.example.com/v1")
    with pytest.raises(ValidationError, match="FERRYMAN_LLM_BASE_URL must start with http"):
        Settings()


def test_the_chat_activity_is_not_a_user_activity() -> None:
    """It runs on every worker, but definitions cannot name it as a `kind: activity` step."""
    assert CHAT_ACTIVITY not in registry.registered()


# Through the session's worker: its guard, the calling workflow's stream


@workflow.defn(sandboxed=False)
class ChatHost:
    """Hosts a workflow stream and calls the chat activity on the ferryman worker's queue."""

    @workflow.init
    def __init__(self, call: LlmCall, task_queue: str) -> None:
        self.stream = WorkflowStream()

    @workflow.run
    async def run(self, call: LlmCall, task_queue: str) -> dict[str, Any]:
        try:
            reply = await workflow.execute_activity(
                CHAT_ACTIVITY,
                call,
                result_type=LlmReply,
                task_queue=task_queue,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except ActivityError as err:
            cause = err.cause
            if not isinstance(cause, ApplicationError):
                return {"type": type(cause).__name__, "message": str(cause)}
            delay = cause.next_retry_delay
            return {
                "type": cause.type,
                "message": cause.message,
                "retryable": not cause.non_retryable,
                "delay": delay.total_seconds() if delay else None,
            }
        return {"content": reply.content}


@pytest.fixture(scope="module")
def host_queue() -> str:
    return f"llm-host-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def host(temporal_client: Client, host_queue: str, worker: None) -> AsyncIterator[None]:
    async with Worker(
        temporal_client,
        task_queue=host_queue,
        workflows=[ChatHost],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        yield


async def run_host(
    client: Client, settings: Settings, host_queue: str, call: LlmCall
) -> tuple[str, WorkflowHandle[Any, dict[str, Any]]]:
    workflow_id = f"llm-host-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        ChatHost.run, args=[call, settings.task_queue], id=workflow_id, task_queue=host_queue
    )
    return workflow_id, handle


# The subscription's last long poll is still open when the host workflow ends: expected here.
@pytest.mark.filterwarnings("ignore::temporalio.workflow.UnfinishedUpdateHandlersWarning")
@pytest.mark.usefixtures("host")
async def test_streamed_chunks_reach_the_workflow_stream_while_the_call_runs(
    temporal_client: Client, base_settings: Settings, host_queue: str, llm_server: LlmServer
) -> None:
    hold = threading.Event()
    model = llm_server.script([Reply(content="one two three four", hold=hold, hold_after=3)])
    call = ask(model, stream=True)
    workflow_id, handle = await run_host(temporal_client, base_settings, host_queue, call)
    seen: list[Chunk] = []

    async def subscribe() -> None:
        topic = WorkflowStreamClient.create(temporal_client, workflow_id).topic(
            CHUNKS_TOPIC, type=Chunk
        )
        async for item in topic.subscribe(poll_cooldown=timedelta(milliseconds=20)):
            seen.append(item.data)

    subscription = asyncio.create_task(subscribe())
    try:
        await eventually(lambda: asyncio.sleep(0, seen), bool)
        assert text_of(seen) == "one two "  # the rest is held back
        hold.set()
        assert await handle.result() == {"content": "one two three four"}
        await eventually(lambda: asyncio.sleep(0, text_of(seen)), "one two three four".__eq__)
    finally:
        hold.set()
        subscription.cancel()
    assert {(c.step_id, c.call, c.attempt) for c in seen} == {("answer", 1, 1)}


@pytest.mark.usefixtures("host")
async def test_through_the_worker_the_key_is_redacted_and_retry_after_reaches_the_workflow(
    temporal_client: Client,
    base_settings: Settings,
    host_queue: str,
    llm_server: LlmServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FERRYMAN_SECRET_E2E_LLM", "sk-e2e-very-secret")
    model = llm_server.script([Reply(status=429, retry_after="4", error="slow down, {key}")])
    call = ask(model, api_key_secret="E2E_LLM")
    _, handle = await run_host(temporal_client, base_settings, host_queue, call)
    outcome = await handle.result()
    assert outcome["type"] == "LlmRateLimited" and outcome["retryable"] is True
    assert outcome["delay"] == 4.0
    assert "slow down, [secret:E2E_LLM]" in outcome["message"]
    assert "sk-e2e-very-secret" not in json.dumps(outcome)
