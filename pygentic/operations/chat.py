"""Chat completions: one model call through the router and the connectors' limits (the same as runs'),
answered whole or as chunks in OpenAI's shapes. Nothing is stored."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from pygentic import ids
from pygentic.codec import optional, py_to_value, to_json, value_to_py
from pygentic.connectors.llm import ChatChunk, ChatRequest, LLMError
from pygentic.connectors.router import LLMRouter
from pygentic.errors import ApiError, ErrorKind, invalid, missing, unsupported
from pygentic.metrics import UPSTREAM_ERRORS
from pygentic.operations.validation import (
    TOOL_CHOICES,
    check_model,
    check_range,
    check_response_format,
    check_tools,
)
from pygentic.proto.v1 import chat_pb2 as pb
from pygentic.runtime.limits import ConnectorLimits
from pygentic.runtime.prompt import estimate_text_tokens, estimate_tokens
from pygentic.runtime.toolcalls import ToolCallAssembler

log = logging.getLogger("pygentic.chat")
ROLES = ("system", "developer", "user", "assistant", "tool")


def _message(message: pb.ChatMessage, param: str) -> dict[str, Any]:
    """One request message as the chat format's dict, checked."""
    if message.role not in ROLES:
        raise unsupported(f"{param}.role", message.role, ROLES)
    out: dict[str, Any] = {"role": message.role}
    content = value_to_py(message, "content")
    if content is not None and not isinstance(content, str | list):
        raise invalid(f"{param}.content", "must be a string or a list of content parts.")
    if content is None and message.role != "assistant":
        raise missing(f"{param}.content")
    out["content"] = content
    if message.HasField("name"):
        out["name"] = message.name
    if message.tool_calls:
        if message.role != "assistant":
            raise invalid(f"{param}.tool_calls", "is only for assistant messages.")
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
            for call in message.tool_calls
        ]
    if message.role == "tool":
        if not message.tool_call_id:
            raise missing(f"{param}.tool_call_id")
        out["tool_call_id"] = message.tool_call_id
    return out


def chat_request(request: pb.CreateChatCompletionRequest) -> ChatRequest:
    """The connector's request for ``request``, every field checked (400 naming the field)."""
    model = check_model(request.model)
    if not request.messages:
        raise missing("messages")
    if request.HasField("n") and request.n != 1:
        raise invalid("n", f"must be 1 (Pygentic answers one choice), got {request.n}.")
    check_tools(request.tools)
    for i, tool in enumerate(request.tools):
        if tool.type != "function":
            raise invalid(f"tools[{i}].type", f"must be 'function' for chat completions, got '{tool.type}'.")
    tool_choice = value_to_py(request, "tool_choice")
    if isinstance(tool_choice, str) and tool_choice not in TOOL_CHOICES:
        raise unsupported("tool_choice", tool_choice, TOOL_CHOICES)
    limit = optional(request, "max_completion_tokens")
    if limit is None:
        limit = optional(request, "max_tokens")
    if limit is not None and limit < 1:
        raise invalid("max_completion_tokens", f"must be at least 1, got {limit}.")
    response_format = check_response_format(value_to_py(request, "response_format"))
    tools = [{"type": "function", "function": to_json(tool.function)} for tool in request.tools]
    return ChatRequest(
        model=model,
        messages=[_message(m, f"messages[{i}]") for i, m in enumerate(request.messages)],
        tools=tools,
        tool_choice=tool_choice if tools else None,
        parallel_tool_calls=optional(request, "parallel_tool_calls"),
        temperature=check_range(optional(request, "temperature"), "temperature", 0, 2),
        top_p=check_range(optional(request, "top_p"), "top_p", 0, 1),
        max_completion_tokens=limit,
        response_format=response_format if isinstance(response_format, dict) else None,
        reasoning_effort=optional(request, "reasoning_effort"),
    )


class _Answer:
    """What the model has answered so far: its text, its tool calls (servers that repeat a call's id and
    name in every chunk counted once), the finish reason and the token counts (estimated where the
    upstream gave none)."""

    def __init__(self, request: ChatRequest) -> None:
        self.request = request
        self.text: list[str] = []
        self.calls = ToolCallAssembler()
        self.finish: str | None = None
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None

    def add(self, chunk: ChatChunk) -> pb.ChatDelta | None:
        """Take ``chunk``; the delta of tool-call fragments it adds, if any."""
        self.text.append(chunk.text)
        self.finish = chunk.finish_reason or self.finish
        if chunk.prompt_tokens is not None:
            self.prompt_tokens = chunk.prompt_tokens
        if chunk.completion_tokens is not None:
            self.completion_tokens = chunk.completion_tokens
        if not chunk.tool_calls:
            return None
        delta = pb.ChatDelta()
        for fragment in chunk.tool_calls:
            made, is_new, name, arguments = self.calls.add(fragment)
            out = delta.tool_calls.add(index=self.calls.calls.index(made))
            if arguments or is_new:
                out.function.arguments = arguments
            if is_new:
                out.id = made.id
                out.type = "function"
            if name:
                out.function.name = name
        return delta

    @property
    def finish_reason(self) -> str:
        return self.finish or ("tool_calls" if self.calls.calls else "stop")

    def usage(self) -> pb.ChatUsage:
        prompt = self.prompt_tokens
        if prompt is None:
            prompt = estimate_tokens(self.request.messages)
        completion = self.completion_tokens
        if completion is None:
            said = "".join(self.text) + "".join(c.name + c.arguments for c in self.calls.calls)
            completion = estimate_text_tokens(said)
        return pb.ChatUsage(
            prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
        )

    def message(self) -> pb.ChatCompletionMessage:
        message = pb.ChatCompletionMessage(role="assistant")
        answer = "".join(self.text)
        if answer or not self.calls.calls:
            message.content = answer
        for made in self.calls.calls:
            function = pb.ChatFunctionCall(name=made.name, arguments=made.arguments)
            message.tool_calls.add(id=made.id, type="function", function=function)
        return message


class ChatOperations:
    """``create`` answers a completion whole, ``stream`` as chunks; both route ``model`` as runs do."""

    def __init__(self, router: LLMRouter, limits: ConnectorLimits) -> None:
        self.router = router
        self.limits = limits

    async def _chunks(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """The connector's chunks, within its limit; an upstream failure as the API error it is."""
        connector, model = self.router.resolve(request.model)
        request.model = model
        try:
            async with self.limits.slot(connector):
                async for chunk in connector.stream_chat(request):
                    yield chunk
        except LLMError as exc:
            UPSTREAM_ERRORS.labels(connector.name, exc.code).inc()
            log.warning("chat completion failed", extra={"connector": connector.name, "reason": exc.message})
            kind = ErrorKind.INVALID_ARGUMENT if exc.code == "invalid_prompt" else ErrorKind.UNAVAILABLE
            raise ApiError(kind, f"The model could not answer: {exc.message}") from exc

    async def create(self, request: pb.CreateChatCompletionRequest) -> pb.ChatCompletion:
        call = chat_request(request)
        asked = call.model
        answer = _Answer(call)
        async for chunk in self._chunks(call):
            answer.add(chunk)
        choice = pb.ChatChoice(index=0, message=answer.message(), finish_reason=answer.finish_reason)
        py_to_value(choice.logprobs, None)
        return pb.ChatCompletion(
            id=ids.new_id("chatcmpl-"),
            object="chat.completion",
            created=int(time.time()),
            model=asked,
            choices=[choice],
            usage=answer.usage(),
        )

    async def stream(self, request: pb.CreateChatCompletionRequest) -> AsyncIterator[pb.ChatCompletionChunk]:
        """The completion as OpenAI streams it: a first chunk with the role, one per fragment of text or of
        a tool call, a last one with the finish reason, then (``stream_options.include_usage``) the usage.
        The request is checked before the first chunk."""
        call = chat_request(request)
        return self._stream(call, request.stream_options.include_usage)

    async def _stream(self, call: ChatRequest, include_usage: bool) -> AsyncIterator[pb.ChatCompletionChunk]:
        completion_id = ids.new_id("chatcmpl-")
        created = int(time.time())
        asked = call.model

        def chunk(delta: pb.ChatDelta | None = None, finish: str | None = None) -> pb.ChatCompletionChunk:
            out = pb.ChatCompletionChunk(
                id=completion_id, object="chat.completion.chunk", created=created, model=asked
            )
            if delta is not None:
                choice = out.choices.add(index=0, delta=delta)
                py_to_value(choice.logprobs, None)
                if finish is not None:
                    choice.finish_reason = finish
            return out

        yield chunk(pb.ChatDelta(role="assistant", content=""))
        answer = _Answer(call)
        async for piece in self._chunks(call):
            calls = answer.add(piece)
            if piece.text:
                yield chunk(pb.ChatDelta(content=piece.text))
            if calls is not None:
                yield chunk(calls)
        yield chunk(pb.ChatDelta(), answer.finish_reason)
        if include_usage:
            last = chunk()
            last.usage.CopyFrom(answer.usage())
            yield last
