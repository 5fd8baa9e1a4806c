"""`llm`: an OpenAI-compatible chat completion, driven as a conversation by the workflow.

Each model call is one activity (`ferryman.llm.chat`, ids `<step>.call<n>#<attempt>`) under
the step's retry policy: a 429 or a 5xx is retried (not before its `Retry-After`), another
4xx fails the step at once. When the model asks for tools (registered activities named in
`tools`), each call runs as that activity (`<step>.tool<n>#<attempt>`: durable, retried,
visible in the Temporal UI) and its result goes back to the model, for at most
`max_tool_iterations` rounds. With `output_schema` the schema is sent as `response_format`
and the answer validated; an invalid answer is sent back with the validation error
(`repair_attempts` times, default once) before the step fails. With `stream: true` the
provider's deltas reach `GET /v1/runs/{id}/stream/chunks` while the step runs.

The output is the final text, or the validated value with an `output_schema`. Usage, cost
and tool calls are read back from the activities in history; the checkpoint notes the model,
the prompt parameters (seed 003's `metadata`) and the schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ferryman.activities.llm_contract import (
    CHAT_ACTIVITY,
    LlmCall,
    LlmReply,
    ToolRequest,
    tool_function_name,
)
from ferryman.activities.registry import StepTask
from ferryman.validation import json_schema
from ferryman.workflows.errors import DefinitionError, StepFailed
from ferryman.workflows.steps.base import StepKind, StepRun, touches_template

if TYPE_CHECKING:
    from ferryman.workflows.dsl import Step


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str


class LlmParams(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=200)
    messages: list[Message] = Field(min_length=1, max_length=100)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    stream: bool = False
    tools: list[str] = Field(default_factory=list, max_length=64)
    max_tool_iterations: int = Field(default=5, ge=0, le=50)
    output_schema: dict[str, Any] | None = None
    repair_attempts: int = Field(
        default=1, ge=0, le=5, description="Invalid structured answers sent back for repair"
    )
    base_url: str | None = Field(default=None, pattern=r"^https?://")
    api_key_secret: str | None = Field(
        default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="A secret's name"
    )

    _schema_is_valid = field_validator("output_schema")(json_schema)


class Llm(StepKind):
    name = "llm"
    params = LlmParams

    def check(self, step: Step) -> None:
        super().check(step)
        tools = step.with_.get("tools")
        if isinstance(tools, list) and any(touches_template(tools, [i]) for i in range(len(tools))):
            raise DefinitionError(f"step {step.id!r}: `with.tools` must name activities", step.id)

    async def run(self, run: StepRun) -> Any:
        params = run.parse(LlmParams)
        run.note(llm=_metadata(params))
        conversation = Conversation(run, params)
        try:
            return await conversation.answer()
        finally:
            run.note(usage=conversation.usage)  # spent whether the conversation ends well or not

    def primary(self, output: Any) -> Any:
        return output


def check_tools(step: Step, names: list[Any], published: Mapping[str, Any]) -> None:
    """Every tool of an `llm` step is an activity some worker publishes."""
    for name in names:
        if name not in published:
            known = ", ".join(sorted(published)) or "none: no worker has started yet"
            raise DefinitionError(
                f"step {step.id!r}: tool {name!r} is not an activity any worker publishes; "
                f"known activities: {known}",
                step.id,
            )


class Conversation:
    """One `llm` step's exchange with its model: calls, tool rounds, repairs."""

    def __init__(self, run: StepRun, params: LlmParams) -> None:
        self.run = run
        self.params = params
        self.messages: list[dict[str, Any]] = [m.model_dump() for m in params.messages]
        self.calls = 0
        self.tool_runs = 0
        self.names = {tool_function_name(name): name for name in params.tools}
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        self.usage |= {"cost_microusd": 0, "calls": 0}

    async def answer(self) -> Any:
        rounds = 0
        repairs = 0
        while True:
            reply = await self._call()
            if reply.tool_calls:
                if rounds >= self.params.max_tool_iterations:
                    raise self.run.fail(
                        f"step {self.run.step.id!r}: the model still asks for tools after "
                        f"{rounds} rounds (max_tool_iterations)",
                        "ToolLoopExceeded",
                    )
                rounds += 1
                await self._use_tools(reply)
                continue
            text = reply.content or ""
            if self.params.output_schema is None:
                return text
            value, problem = _structured(text, self.params.output_schema)
            if problem is None:
                return value
            if repairs >= self.params.repair_attempts:
                raise self.run.fail(
                    f"step {self.run.step.id!r}: the model's answer does not match "
                    f"output_schema after {repairs} repair(s): {problem}",
                    "StructuredOutputInvalid",
                )
            repairs += 1
            self.messages += [
                {"role": "assistant", "content": text},
                {
                    "role": "user",
                    "content": f"Your answer does not match the JSON schema: {problem}. "
                    "Answer again with only JSON that matches it.",
                },
            ]

    async def _call(self) -> LlmReply:
        self.calls += 1
        request = LlmCall(
            execution_id=self.run.execution_id,
            step_id=self.run.step.id,
            call=self.calls,
            base_url=self.params.base_url,
            api_key_secret=self.params.api_key_secret,
            model=self.params.model,
            messages=list(self.messages),
            temperature=self.params.temperature,
            max_tokens=self.params.max_tokens,
            tools=self.params.tools,
            response_format=_response_format(self.params.output_schema),
            stream=self.params.stream,
        )
        reply = await self.run.call(
            CHAT_ACTIVITY,
            lambda attempt: request.model_copy(update={"attempt": attempt}),
            f"call{self.calls}",
            LlmReply,
        )
        self.run.note(version=reply.model)  # seed 003's `version`: the model that answered
        used = reply.usage
        for name, value in (
            ("prompt_tokens", used.prompt_tokens),
            ("completion_tokens", used.completion_tokens),
            ("total_tokens", used.total_tokens),
            ("cost_microusd", reply.cost_microusd),
            ("calls", 1),
        ):
            self.usage[name] += value
        return reply

    async def _use_tools(self, reply: LlmReply) -> None:
        self.messages.append(
            {
                "role": "assistant",
                "content": reply.content,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    }
                    for call in reply.tool_calls
                ],
            }
        )
        for call in reply.tool_calls:
            content = await self._tool(call)
            self.messages.append({"role": "tool", "tool_call_id": call.id, "content": content})

    async def _tool(self, call: ToolRequest) -> str:
        """Run one tool call as its activity; the text the model gets back (a tool that
        fails tells the model why, and the conversation goes on)."""
        name = self.names.get(call.name)
        if name is None:
            return f"error: there is no tool named {call.name!r}"
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError as err:
            return f"error: the arguments are not JSON: {err}"
        if not isinstance(arguments, dict):
            return "error: the arguments must be a JSON object"
        self.tool_runs += 1
        execution_id, step_id = self.run.execution_id, self.run.step.id

        def task(attempt: int) -> StepTask:
            return StepTask(
                execution_id=execution_id, step_id=step_id, attempt=attempt, params=arguments
            )

        try:
            result: Any = await self.run.call(name, task, f"tool{self.tool_runs}")
        except StepFailed as failure:
            return f"error: {failure}"
        return json.dumps(result, default=str)


def _response_format(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    if schema is None:
        return None
    return {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}


def _structured(text: str, schema: dict[str, Any]) -> tuple[Any, str | None]:
    """The answer as JSON valid against `schema`, or why not."""
    try:
        value = json.loads(text)
    except ValueError as err:
        return None, f"it is not JSON ({err})"
    errors = sorted(Draft202012Validator(schema).iter_errors(value), key=str)
    if errors:
        where = "/".join(str(part) for part in errors[0].absolute_path) or "the top level"
        return None, f"at {where}: {errors[0].message}"
    return value, None


def _metadata(params: LlmParams) -> dict[str, Any]:
    """Seed 003's `metadata` of an `llm` step: the model and the prompt's parameters."""
    system = [m.content for m in params.messages if m.role == "system"]
    user = [m.content for m in params.messages if m.role == "user"]
    return {
        "model": params.model,
        "params": {
            "system_prompt": "\n".join(system) or None,
            "user_prompt": user[-1] if user else None,
            "max_output_tokens": params.max_tokens,
            "temperature": params.temperature,
        },
        "output_schema": params.output_schema,
        "tools": params.tools,
        "stream": params.stream,
    }
