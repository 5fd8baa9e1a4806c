"""The OpenAI-compatible chat-completions wire, as `activities/llm.py` speaks it: the request
body, the answer (whole or streamed, gathered by `Answer`), server-sent events, and what a
provider says when it refuses (its error message, its `Retry-After`). Pure: no I/O of its own,
no Temporal.
"""

from __future__ import annotations

import email.utils
import json
import math
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, Field, field_validator

from ferryman.activities.llm_contract import LlmCall, ToolRequest, Usage

MESSAGE_LIMIT = 500  # characters of a provider's error message kept in ours


def request_body(call: LlmCall, tools: list[dict[str, Any]]) -> dict[str, Any]:
    """The `/chat/completions` body of `call` with its `tools` as function definitions
    (fields left unset are not sent)."""
    body: dict[str, Any] = {"model": call.model, "messages": call.messages}
    if call.temperature is not None:
        body["temperature"] = call.temperature
    if call.max_tokens is not None:
        body["max_tokens"] = call.max_tokens
    if tools:
        body["tools"] = tools
    if call.response_format is not None:
        body["response_format"] = call.response_format
    if call.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


# The answer as the wire has it. Lenient: compatible servers leave out what OpenAI sends.


class _Function(BaseModel):
    name: str | None = None
    arguments: str | None = None

    @field_validator("arguments", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        # Some compatible servers send the arguments as an object, not as JSON text.
        return json.dumps(value) if isinstance(value, dict) else value


class _WireToolCall(BaseModel):
    index: int | None = None
    id: str | None = None
    function: _Function = Field(default_factory=_Function)


class _Message(BaseModel):
    content: str | None = None
    tool_calls: list[_WireToolCall] | None = None


class _Choice(BaseModel):
    index: int = 0
    message: _Message | None = None  # a completion
    delta: _Message | None = None  # a streamed chunk
    finish_reason: str | None = None


class _WireUsage(BaseModel):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None

    def usage(self) -> Usage:
        prompt, completion = self.prompt_tokens or 0, self.completion_tokens or 0
        return Usage(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=self.total_tokens or prompt + completion,
        )


class Completion(BaseModel):
    model: str | None = None
    choices: list[_Choice] | None = None
    usage: _WireUsage | None = None
    error: Any = None  # a failure reported inside a stream


@dataclass
class ToolSlot:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class Answer:
    """A completion as it comes in: whole, or assembled from streamed chunks."""

    model: str | None = None
    text: list[str] = field(default_factory=list)
    tools: dict[int, ToolSlot] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    done: bool = False  # `data: [DONE]` seen

    @property
    def content(self) -> str | None:
        return "".join(self.text) if self.text else None

    @property
    def tool_calls(self) -> list[ToolRequest]:
        # A provider that gives no id still gets its results back under one it can match.
        return [
            ToolRequest(
                id=slot.id or f"call_{index}",
                name=slot.name,
                arguments="".join(slot.arguments) or "{}",
            )
            for index, slot in sorted(self.tools.items())
        ]

    def add(self, chunk: Completion) -> str:
        """Take in one chunk (or a whole completion); returns the text it added."""
        self.model = chunk.model or self.model
        if chunk.usage is not None:
            self.usage = chunk.usage.usage()
        added = ""
        for choice in chunk.choices or []:
            message = choice.delta or choice.message
            if choice.index != 0:  # one choice asked for (no `n`)
                continue
            self.finish_reason = choice.finish_reason or self.finish_reason
            if message is None:
                continue
            if message.content:
                self.text.append(message.content)
                added += message.content
            for position, call in enumerate(message.tool_calls or []):
                self._add_tool_call(call, position)
        return added

    def _add_tool_call(self, call: _WireToolCall, position: int) -> None:
        # Streamed: the id and name come with a call's first piece, its arguments in pieces
        # under the same index. Whole: one piece per call, maybe without an index.
        slot = self.tools.setdefault(position if call.index is None else call.index, ToolSlot())
        slot.id = slot.id or call.id or ""
        slot.name = slot.name or call.function.name or ""
        if call.function.arguments:
            slot.arguments.append(call.function.arguments)


async def server_sent_data(response: httpx.Response) -> AsyncGenerator[str, None]:
    """The `data` of each server-sent event (several `data:` lines of one event joined by
    newlines); comments (keep-alives) and the other fields say nothing to a completion."""
    data: list[str] = []
    async for line in response.aiter_lines():
        if line.startswith("data:"):
            data.append(line[len("data:") :].removeprefix(" "))
        elif not line and data:
            yield "\n".join(data)
            data = []
    if data:
        yield "\n".join(data)


def provider_message(body: bytes | str) -> str:
    """`error.message` of an OpenAI-style error body, else the body itself; truncated."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    try:
        error = json.loads(text).get("error")
        said = error.get("message") if isinstance(error, dict) else error
        text = said if isinstance(said, str) and said else text
    except (ValueError, AttributeError):
        pass
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def retry_after(headers: httpx.Headers) -> timedelta | None:
    """When the provider asks to be called again: `retry-after-ms` (OpenAI's), else
    `Retry-After` in seconds or as an HTTP date; None when it does not say (or says
    something unreadable)."""
    millis = _finite(headers.get("retry-after-ms"))
    if millis is not None:
        return timedelta(milliseconds=max(millis, 0.0))
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _finite(value)
    if seconds is not None:
        return timedelta(seconds=max(seconds, 0.0))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - datetime.now(UTC), timedelta(0))


def _finite(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None
