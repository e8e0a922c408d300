"""The LLM connector interface: a streamed chat completion, in OpenAI's chat format."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from pygentic.connectors.base import BaseConnector


@dataclass
class ChatRequest:
    """One chat completion request (OpenAI chat-completions fields)."""

    model: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_completion_tokens: int | None = None
    response_format: dict[str, Any] | None = None
    reasoning_effort: str | None = None


@dataclass
class ToolCallDelta:
    """A fragment of a streamed tool call: its position, and the id, name or argument text it adds."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass
class ChatChunk:
    """One streamed piece: text, tool-call fragments, and at the end a finish reason and usage."""

    text: str = ""
    tool_calls: list[ToolCallDelta] = field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class LLMError(Exception):
    """The model cannot answer: the upstream failed, or the prompt is one it cannot take; ``code`` is the
    run's ``last_error.code``."""

    def __init__(self, message: str, code: str = "server_error") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class LLMConnector(BaseConnector):
    """A connector that streams chat completions.

    ``max_concurrency`` bounds the upstream requests in flight; runs beyond it wait (status ``queued``).
    ``image_input`` says what the connector does with image parts in user messages: ``"send"`` them
    (``image_url`` parts, files as data URLs), ``"reject"`` them (the run fails with ``invalid_prompt``:
    the model has no vision) or ``"drop"`` them (with a logged warning; the model reads the text).
    """

    type: str = "llm"
    max_concurrency: int = 16
    image_input: str = "send"

    def stream_chat(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """Stream the completion of ``request``; raise :class:`LLMError` on upstream failure."""
        raise NotImplementedError

    async def list_models(self) -> list[str]:
        """The models this connector knows it serves (``GET /v1/models``); none by default, since a
        connector may pass any name through."""
        return []


def content_text(content: Any) -> str:
    """A message's content as plain text: a string as it is, the text parts of a list of parts (what a
    connector without vision makes of a message with images)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return "" if content is None else str(content)
