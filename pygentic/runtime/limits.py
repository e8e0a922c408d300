"""Each LLM connector's ``max_concurrency``: one limit per connector, shared by every model call of the
process (runs and chat completions alike), so callers queue behind it instead of overloading the upstream."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from pygentic.connectors.llm import LLMConnector
from pygentic.metrics import RUNS_WAITING


class ConnectorLimits:
    """``async with limits.slot(connector):`` holds one of the connector's places while a call runs."""

    def __init__(self) -> None:
        self._limits: dict[str, asyncio.Semaphore] = {}

    def _limit(self, connector: LLMConnector) -> asyncio.Semaphore:
        if connector.name not in self._limits:
            self._limits[connector.name] = asyncio.Semaphore(connector.max_concurrency)
        return self._limits[connector.name]

    @contextlib.asynccontextmanager
    async def slot(self, connector: LLMConnector, *, taken: bool = False) -> AsyncIterator[None]:
        """A model call's place within the connector's limit (counted as waiting until it has one).
        ``taken``: the caller already holds it (from :meth:`take_if_free`); it is given back at the end."""
        limit = self._limit(connector)
        if not taken:
            waiting = RUNS_WAITING.labels(connector.name)
            waiting.inc()
            try:
                await limit.acquire()
            finally:
                waiting.dec()
        try:
            yield
        finally:
            limit.release()

    async def take_if_free(self, connector: LLMConnector) -> bool:
        """Take one of the connector's places if one is free and nobody waits for one (never waits);
        the taker hands it to :meth:`slot` (``taken=True``) or gives it back with :meth:`give_back`."""
        limit = self._limit(connector)
        if limit.locked():  # no place, or others queued first
            return False
        await limit.acquire()  # a free place with no one waiting: returns at once, without suspending
        return True

    def give_back(self, connector: LLMConnector) -> None:
        """Return a place taken with :meth:`take_if_free` and never used."""
        self._limit(connector).release()
