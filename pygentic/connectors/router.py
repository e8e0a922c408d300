"""LLM routing: which connector serves an assistant's ``model``."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from pygentic.connectors.llm import LLMConnector


class LLMRouter:
    """Routes a model name to a connector.

    ``connector/model`` names the connector explicitly; otherwise the first connector whose ``models``
    glob patterns match; otherwise the default connector (``llm_service``) with the model passed through.
    """

    def __init__(
        self, default: LLMConnector, others: Iterable[tuple[LLMConnector, tuple[str, ...]]] = ()
    ) -> None:
        self.default = default
        self.routes = list(others)
        self.by_name = {default.name: default, **{c.name: c for c, _ in self.routes}}

    def connectors(self) -> list[LLMConnector]:
        return [self.default, *(c for c, _ in self.routes)]

    def resolve(self, model: str) -> tuple[LLMConnector, str]:
        prefix, sep, rest = model.partition("/")
        if sep and prefix in self.by_name:
            return self.by_name[prefix], rest
        for connector, patterns in self.routes:
            if any(fnmatch.fnmatchcase(model, p) for p in patterns):
                return connector, model
        return self.default, model
