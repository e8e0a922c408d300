"""Builds connector instances from the typed settings."""

from __future__ import annotations

from pygentic.config import LLMSettings, Settings
from pygentic.connectors.llm import LLMConnector
from pygentic.connectors.router import LLMRouter


def build_llm(settings: LLMSettings) -> LLMConnector:
    """The connector for one LLM table (``type = "openai"`` or ``"local"``)."""
    if settings.type == "openai":
        from pygentic.connectors.openai_compatible import OpenAICompatibleConnector

        return OpenAICompatibleConnector(settings)
    from pygentic.connectors.local_model import LocalModelConnector

    return LocalModelConnector(settings)


def build_router(settings: Settings) -> LLMRouter:
    """``llm_service`` as the default route, every other LLM table routed by its ``models`` patterns."""
    default = build_llm(settings.llm_service)
    return LLMRouter(default, [(build_llm(s), s.models) for s in settings.llms])
