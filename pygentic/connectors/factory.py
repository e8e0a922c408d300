"""Builds connector instances from the typed settings."""

from __future__ import annotations

from pygentic.config import LLMSettings
from pygentic.connectors.llm import LLMConnector


def build_llm(settings: LLMSettings) -> LLMConnector:
    """The connector for one LLM table (``type = "openai"`` or ``"local"``)."""
    if settings.type == "openai":
        from pygentic.connectors.openai_compatible import OpenAICompatibleConnector

        return OpenAICompatibleConnector(settings)
    from pygentic.connectors.local_model import LocalModelConnector

    return LocalModelConnector(settings)
