"""A plugin with only ``async generate_text(prompt) -> str`` used as an LLM.

The chat is flattened into one prompt; the answer arrives as one piece (the engine still emits the
message events). Tools are offered in the prompt and calls parsed from the answer, as for the local model.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from pygentic.connectors.base import BaseConnector
from pygentic.connectors.llm import (
    ChatChunk,
    ChatRequest,
    LLMConnector,
    LLMError,
    ToolCallDelta,
    content_text,
)
from pygentic.connectors.tool_text import parse_tool_calls, tools_prompt

DEFAULT_CONCURRENCY = 4
DEFAULT_TIMEOUT_S = 60.0


def flatten(messages: list[dict[str, Any]]) -> str:
    """``Role: content`` lines, ending with ``Assistant:`` for the model to continue."""
    lines = []
    for m in messages:
        role = m["role"]
        if role == "tool":
            lines.append(f"Tool result ({m.get('tool_call_id', '')}): {m.get('content', '')}")
            continue
        content = content_text(m.get("content"))
        for call in m.get("tool_calls") or []:
            content += f"\n[called {call['function']['name']}({call['function']['arguments']})]"
        lines.append(f"{role.capitalize()}: {content}")
    lines.append("Assistant:")
    return "\n".join(lines)


class TextLLMAdapter(LLMConnector):
    """Wraps a connector that has ``generate_text`` so runs can use it."""

    type = "plugin"
    image_input = "drop"  # generate_text takes a prompt of text

    def __init__(
        self, plugin: BaseConnector, max_concurrency: int | None = None, timeout: float | None = None
    ) -> None:
        self.plugin = plugin
        self.name = plugin.name
        self.max_concurrency = max_concurrency or DEFAULT_CONCURRENCY
        self.timeout = timeout or DEFAULT_TIMEOUT_S

    async def connect(self) -> None:
        await self.plugin.connect()

    async def disconnect(self) -> None:
        await self.plugin.disconnect()

    async def check(self) -> None:
        await self.plugin.check()

    def describe(self) -> str:
        return f"plugin {type(self.plugin).__name__} (generate_text)"

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        functions = [t for t in request.tools if t.get("type") == "function"]
        messages = list(request.messages)
        if functions and request.tool_choice != "none":
            messages.insert(0, {"role": "system", "content": tools_prompt(functions)})
        try:
            async with asyncio.timeout(self.timeout):  # not wait_for: it can lose a CancelRun
                text = await self.plugin.generate_text(flatten(messages))  # type: ignore[attr-defined]
        except TimeoutError as exc:
            raise LLMError(f"connector {self.name} gave no answer within {self.timeout:g} s") from exc
        except Exception as exc:
            raise LLMError(f"connector {self.name} failed: {type(exc).__name__}: {exc}") from exc
        if not isinstance(text, str):
            raise LLMError(f"connector {self.name}: generate_text returned {type(text).__name__}, not str")
        calls = parse_tool_calls(text, {f["function"]["name"] for f in functions}) if functions else []
        if calls:
            yield ChatChunk(
                tool_calls=[ToolCallDelta(index=i, name=n, arguments=a) for i, (n, a) in enumerate(calls)]
            )
            yield ChatChunk(finish_reason="tool_calls")
            return
        yield ChatChunk(text=text)
        yield ChatChunk(finish_reason="stop")
