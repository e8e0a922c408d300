"""Connectors: the services Pygentic talks to (LLMs, tool endpoints, ...), configured in connectors.toml."""

from pygentic.connectors.base import BaseConnector
from pygentic.connectors.llm import ChatChunk, ChatRequest, LLMConnector, LLMError, ToolCallDelta

__all__ = ["BaseConnector", "ChatChunk", "ChatRequest", "LLMConnector", "LLMError", "ToolCallDelta"]
