"""The `ferryman.llm.chat` activity: one OpenAI-compatible chat completion per call.

`POST {base_url}/chat/completions`, streamed (SSE) or not; the workflow drives the
conversation (`workflows/ai.py` is the contract). Decisions worth knowing:

- **Where it goes, and with which key.** `FERRYMAN_LLM_BASE_URL` is the operator's and is
  trusted: no egress check (a local model on loopback works) and `FERRYMAN_LLM_API_KEY` goes
  with it. A step's own `base_url` on another origin is a URL a definition chose, as an
  `http` step's is: it passes the `http` egress check (`FERRYMAN_HTTP_BLOCK_PRIVATE_NETWORKS`)
  and never receives `FERRYMAN_LLM_API_KEY`, only the secret the step names
  (`api_key_secret`), so a definition cannot send the operator's key to a host of its own.
- **The key never leaves.** It is known to the worker's redactor (`activities/guard.py`) as
  `[secret:LLM_API_KEY]` or `[secret:<NAME>]`, and the messages built here from the
  provider's words are redacted before they are raised.
- **Secrets in messages.** `{{ secrets.NAME }}` in a message reaches the provider resolved
  (it is the provider's to read, as an `http` step's target reads its URL); the value is
  redacted from the reply, so a model that repeats it leaves `[secret:NAME]` in history.
- **Failures.** 408, 429, 5xx, timeouts and broken connections are retryable
  (`LlmRateLimited`, `LlmUnavailable`) with `next_retry_delay` from `Retry-After`
  (`retry-after-ms`, seconds or an HTTP date) when the provider sends one; any other 4xx is
  `LlmRejected` with the provider's message; an answer that is not a chat completion is
  `LlmBadAnswer`. The last two are not retryable.
- **Cost.** `FERRYMAN_LLM_PRICES` priced by the model asked for, else by the model that
  answered (providers answer dated names: `gpt-4o` -> `gpt-4o-2024-08-06`); neither: 0.
- **Streaming.** Text deltas are gathered into one `Chunk` per `CHUNK_INTERVAL` on the
  calling workflow's stream (`CHUNKS_TOPIC`), so its history grows by batches, not tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import structlog
from pydantic import ValidationError
from temporalio import activity
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from ferryman import metrics
from ferryman.activities import registry
from ferryman.activities.http import PooledClient, check_egress
from ferryman.activities.llm_contract import (
    CHAT_ACTIVITY,
    CHUNKS_TOPIC,
    Chunk,
    LlmCall,
    LlmReply,
    Usage,
    tool_function_name,
)
from ferryman.activities.llm_wire import (
    Answer,
    Completion,
    provider_message,
    request_body,
    retry_after,
    server_sent_data,
)
from ferryman.activities.secrets import (
    CURRENT,
    Redactor,
    remember_secret,
    resolve_secrets,
    secret_value,
)
from ferryman.settings import LlmPrice, Settings

log = structlog.get_logger("ferryman.llm")

CHUNK_INTERVAL = timedelta(milliseconds=150)
DEFAULT_KEY_NAME = "LLM_API_KEY"  # the settings key's marker: `[secret:LLM_API_KEY]`
DESCRIPTION_LIMIT = 1024  # providers cap a function's description

ChunkSink = Callable[[Chunk], Awaitable[None]]
ChunkStream = Callable[[], ChunkSink]

# A pool of its own: a streamed answer holds its connection for a minute, which should not
# starve `http` steps of theirs.
_llm_client = PooledClient()
close_llm_client = _llm_client.close


def workflow_chunks() -> ChunkSink:
    """Chunks to the stream of the workflow that called this activity, a signal each.

    `_Batcher` times them, so the stream client's own background flusher is not started
    (`async with`): stopping it as a flush is due can hang on Python 3.11, whose
    `asyncio.wait_for` swallows a cancellation that lands as its wait ends.
    """
    stream = WorkflowStreamClient.from_within_activity()
    topic = stream.topic(CHUNKS_TOPIC, type=Chunk)

    async def send(chunk: Chunk) -> None:
        topic.publish(chunk)
        try:
            await stream.flush()
        except (RPCError, TimeoutError) as err:
            # The client keeps the batch for the next flush; the answer matters more.
            log.warning("llm chunks not delivered yet", step=chunk.step_id, error=str(err))

    return send


class LlmChat:
    """The chat activity with the worker's LLM settings; `chunks` is where streamed text
    goes (the calling workflow's stream; tests hand in a list)."""

    def __init__(self, settings: Settings, chunks: ChunkStream = workflow_chunks) -> None:
        self.settings = settings
        self.chunks = chunks

    @activity.defn(name=CHAT_ACTIVITY)
    async def chat(self, call: LlmCall) -> LlmReply:
        """One chat completion, classified for the workflow's retries."""
        target = self._target(call)
        # A message's `{{ secrets.NAME }}` is resolved here and only here: the workflow and
        # its history hold the placeholder, and the guard redacts the value from the reply.
        call = call.model_copy(update={"messages": resolve_secrets(call.messages)})
        request = _llm_client().build_request(
            "POST",
            f"{target.base_url}/chat/completions",
            json=request_body(call, tool_definitions(call.tools)),
            headers=target.headers,
            timeout=self.settings.llm_timeout_secs,
        )
        if not target.trusted:
            await check_egress(request)
        started = time.perf_counter()
        try:
            answer = await self._exchange(request, call, target)
        except httpx.TimeoutException as err:
            raise _unavailable(
                f"{target.provider} did not answer within {self.settings.llm_timeout_secs}s"
            ) from err
        except httpx.TransportError as err:
            raise _unavailable(
                f"the call to {target.provider} failed: {type(err).__name__}: "
                + target.redactor.text(str(err))
            ) from err
        usage = answer.usage
        cost = cost_microusd(self.settings.llm_prices, call.model, answer.model, usage)
        metrics.llm_call(call.model, usage.prompt_tokens, usage.completion_tokens, cost)
        return LlmReply(
            provider=target.provider,
            model=answer.model or call.model,
            content=answer.content,
            tool_calls=answer.tool_calls,
            finish_reason=answer.finish_reason,
            usage=usage,
            cost_microusd=cost,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    async def _exchange(self, request: httpx.Request, call: LlmCall, target: _Target) -> Answer:
        response = await _llm_client().send(request, stream=True)
        try:
            await _raise_for_status(response, target)
            if call.stream:
                return await self._streamed(response, call, target)
            return _completion(await response.aread(), target)
        finally:
            await response.aclose()

    async def _streamed(self, response: httpx.Response, call: LlmCall, target: _Target) -> Answer:
        answer = Answer()
        attempt = max(call.attempt, activity.info().attempt)
        events = contextlib.aclosing(server_sent_data(response))
        # The guard's redactor knows the secrets resolved for this call (the key included).
        redactor = CURRENT.get() or target.redactor
        batches = _Batcher(self.chunks(), call, attempt, redactor)
        async with batches as batcher, events as data_of_events:
            async for data in data_of_events:
                activity.heartbeat()
                if data == "[DONE]":
                    answer.done = True
                    break
                batcher.add(answer.add(_stream_chunk(data, target)))
        if not (answer.done or answer.finish_reason):
            raise _unavailable(f"{target.provider} broke off the stream before its end")
        return answer

    def _target(self, call: LlmCall) -> _Target:
        configured = httpx.URL(self.settings.llm_base_url)
        base_url = (call.base_url or self.settings.llm_base_url).rstrip("/")
        url = _base_url(base_url)
        trusted = (url.scheme, url.host, url.port) == (
            configured.scheme,
            configured.host,
            configured.port,
        )
        target = _Target(base_url, url.netloc.decode("ascii"), trusted)
        key_name, key = self._key(call, trusted)
        if key:
            target.headers["Authorization"] = f"Bearer {key}"
            target.redactor.remember(key_name, key)
        return target

    def _key(self, call: LlmCall, trusted: bool) -> tuple[str, str | None]:
        """The step's own secret, else the settings' key (only for the configured origin)."""
        if call.api_key_secret:
            return call.api_key_secret, secret_value(call.api_key_secret)
        if not trusted or self.settings.llm_api_key is None:
            return DEFAULT_KEY_NAME, None
        key = self.settings.llm_api_key.get_secret_value()
        if not key:  # set but empty (compose passes it through when the host has none)
            return DEFAULT_KEY_NAME, None
        remember_secret(DEFAULT_KEY_NAME, key)
        return DEFAULT_KEY_NAME, key


def _base_url(base_url: str) -> httpx.URL:
    problem = "must start with http:// or https://"
    if base_url.startswith(("http://", "https://")):
        try:
            return httpx.URL(base_url)
        except httpx.InvalidURL as err:
            problem = f"is not a URL ({err})"
    raise _invalid(f"base_url {base_url[:80]!r} {problem}", "LlmInvalidCall")


@dataclass
class _Target:
    base_url: str
    provider: str  # host[:port]
    trusted: bool  # the configured base URL's origin
    headers: dict[str, str] = field(default_factory=dict)
    redactor: Redactor = field(default_factory=Redactor)


def tool_definitions(names: list[str]) -> list[dict[str, Any]]:
    """OpenAI function definitions of registered activities, under provider-safe names."""
    entries = registry.registered()
    named: dict[str, str] = {}  # function name -> activity name
    tools: list[dict[str, Any]] = []
    for name in names:
        entry = entries.get(name)
        if entry is None:
            raise _invalid(
                f"tool {name!r} is not an activity this worker runs "
                "(register it with @step_activity in a FERRYMAN_ACTIVITY_MODULES module)",
                "LlmUnknownTool",
            )
        function = tool_function_name(name)
        if function in named:
            if named[function] == name:  # named twice
                continue
            raise _invalid(
                f"tools {named[function]!r} and {name!r} share the function name {function!r}",
                "LlmToolNameClash",
            )
        named[function] = name
        description = entry.description or f"The {name} activity."
        tools.append(
            {
                "type": "function",
                "function": {
                    "name": function,
                    "description": description[:DESCRIPTION_LIMIT],
                    "parameters": entry.input_schema or {"type": "object"},
                },
            }
        )
    return tools


def cost_microusd(
    prices: dict[str, LlmPrice], asked: str, answered: str | None, usage: Usage
) -> int:
    """Tokens x dollars per million = micro-dollars; 0 for a model without a price."""
    price = prices.get(asked) or (prices.get(answered) if answered else None)
    if price is None:
        return 0
    return round(
        usage.prompt_tokens * price.prompt_per_million_usd
        + usage.completion_tokens * price.completion_per_million_usd
    )


def _completion(body: bytes, target: _Target) -> Answer:
    completion = _parse(body, target)
    if not completion.choices or completion.choices[0].message is None:
        raise _bad_answer(f"{target.provider} answered a completion without a message")
    answer = Answer()
    answer.add(completion)
    return answer


def _stream_chunk(data: str, target: _Target) -> Completion:
    chunk = _parse(data.encode(), target)
    if chunk.error is not None:
        said = target.redactor.text(provider_message(data))
        raise _unavailable(f"{target.provider} failed mid-stream: {said}")
    return chunk


def _parse(body: bytes, target: _Target) -> Completion:
    try:
        return Completion.model_validate_json(body)
    except ValidationError as err:
        sample = target.redactor.text(body[:200].decode("utf-8", errors="replace"))
        raise _bad_answer(
            f"{target.provider} answered something that is not a chat completion: {sample!r}"
        ) from err


class _Batcher:
    """Streamed text gathered into one `Chunk` per `CHUNK_INTERVAL`, sent by a task of its
    own, and what is left at the end (also after a failure: the next attempt's chunks say
    that the text starts again). Chunks are redacted: a model may repeat a secret from its
    messages, token by token, so a batch that ends with what could be the start of a secret
    keeps that tail for the next one, and a secret split across batches is caught whole
    (text that could begin no secret is never held back)."""

    def __init__(self, sink: ChunkSink, call: LlmCall, attempt: int, redactor: Redactor) -> None:
        self.sink = sink
        self.call = call
        self.attempt = attempt
        self.redactor = redactor
        self.pending: list[str] = []
        self.stopping = asyncio.Event()
        self.ticker: asyncio.Task[None] | None = None

    async def __aenter__(self) -> _Batcher:
        self.ticker = asyncio.create_task(self._tick())
        return self

    async def __aexit__(self, *_: object) -> None:
        # Not cancelled: a send cut off halfway would leave its chunk in the client's buffer.
        self.stopping.set()
        if self.ticker is not None:
            await self.ticker
        await self._send(final=True)

    def add(self, text: str) -> None:
        if text:
            self.pending.append(text)

    async def _send(self, final: bool = False) -> None:
        text = self.redactor.text("".join(self.pending))
        held = 0 if final else self.redactor.open_tail(text)
        self.pending = [text[len(text) - held :]] if held else []
        text = text[: len(text) - held]
        if not text:
            return
        chunk = Chunk(
            step_id=self.call.step_id, call=self.call.call, attempt=self.attempt, text=text
        )
        await self.sink(chunk)

    async def _tick(self) -> None:
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CHUNK_INTERVAL.total_seconds()):
                    await self.stopping.wait()
            await self._send()


async def _raise_for_status(response: httpx.Response, target: _Target) -> None:
    status = response.status_code
    if status < 400:
        return
    said = target.redactor.text(provider_message(await response.aread()))
    message = f"{target.provider} answered {status}: {said}"
    details = {"status": status}
    if status == 429:
        delay = retry_after(response.headers)
        raise ApplicationError(message, details, type="LlmRateLimited", next_retry_delay=delay)
    if status >= 500 or status == 408:
        delay = retry_after(response.headers)
        raise ApplicationError(message, details, type="LlmUnavailable", next_retry_delay=delay)
    raise ApplicationError(message, details, type="LlmRejected", non_retryable=True)


def _unavailable(message: str) -> ApplicationError:
    return ApplicationError(message, type="LlmUnavailable")


def _bad_answer(message: str) -> ApplicationError:
    return ApplicationError(message, type="LlmBadAnswer", non_retryable=True)


def _invalid(message: str, error_type: str) -> ApplicationError:
    return ApplicationError(message, type=error_type, non_retryable=True)
