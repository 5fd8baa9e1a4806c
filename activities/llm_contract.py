"""What an `llm` step asks of its worker and gets back: one chat completion per call.

An `llm` step is a conversation the workflow drives: each model call is one activity
(`ferryman.llm.chat`, an OpenAI-compatible `POST {base_url}/chat/completions`), each tool the
model asks for is one activity (the registered activity of that name), and a structured
answer that breaks its schema is sent back once for repair. Everything here travels through
Temporal, so it is inert data: types and defaults, no validators.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

CHAT_ACTIVITY = "ferryman.llm.chat"
# The workflow stream topic (temporalio.contrib.workflow_streams) that carries the deltas
# of streamed model calls to `GET /v1/runs/{id}/stream/chunks`.
CHUNKS_TOPIC = "llm.chunks"


class LlmCall(BaseModel):
    """Input of `ferryman.llm.chat`: one chat completion."""

    execution_id: str
    step_id: str
    call: int = 1  # 1, 2, ... within the step: tool rounds and repairs add calls
    # The step's attempt of this call, for its chunks: the workflow drives retries with one
    # activity attempt each, so `activity.info().attempt` alone would always say 1.
    attempt: int = 1
    base_url: str | None = None  # None: FERRYMAN_LLM_BASE_URL
    api_key_secret: str | None = (
        None  # a secret's name (FERRYMAN_SECRET_<NAME>); None: FERRYMAN_LLM_API_KEY
    )
    model: str
    messages: list[dict[str, Any]] = Field(default_factory=list)
    temperature: float | None = None
    max_tokens: int | None = None
    tools: list[str] = Field(default_factory=list)  # registered activity names
    response_format: dict[str, Any] | None = None  # sent as is (`{"type": "json_schema", ...}`)
    stream: bool = False


class ToolRequest(BaseModel):
    """A function call the model asked for, as it asked (`name` is the provider-safe name)."""

    id: str
    name: str
    arguments: str = "{}"  # JSON text


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class LlmReply(BaseModel):
    """Output of `ferryman.llm.chat`."""

    provider: str  # the provider's host (`api.openai.com`, `127.0.0.1:8000`)
    model: str  # as the provider answered
    content: str | None = None
    tool_calls: list[ToolRequest] = Field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage = Field(default_factory=Usage)
    cost_microusd: int = 0  # from FERRYMAN_LLM_PRICES; 0 for a model without a price
    duration_ms: float = 0.0


class Chunk(BaseModel):
    """One batch of streamed text on `CHUNKS_TOPIC`. `attempt` > 1 restarts the call's text
    (a retried attempt streams again from its start)."""

    step_id: str
    call: int
    attempt: int = 1
    text: str


def tool_function_name(activity_name: str) -> str:
    """An activity name as providers accept function names (`^[a-zA-Z0-9_-]{1,64}$`):
    `weather.lookup` -> `weather_lookup`. The step maps the model's calls back through it."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", activity_name)[:64]
