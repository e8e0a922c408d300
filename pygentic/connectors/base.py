"""The connector contract of the seed: ``initialize(config)``, ``connect()``, ``disconnect()``."""

from __future__ import annotations

from typing import Any


class BaseConnector:
    """A service Pygentic talks to.

    ``initialize`` receives the connector's ``[connectors.NAME]`` table; ``connect`` runs at startup and
    ``disconnect`` at shutdown; ``check`` raises when the connector is not healthy (``pygentic connectors``
    reports it). Subclasses override what they need.
    """

    name: str = ""
    type: str = "plugin"

    def initialize(self, config: dict[str, Any]) -> None:
        self.config = config

    async def connect(self) -> None:
        """Open connections, load models; raise to report that the connector cannot work."""

    async def disconnect(self) -> None:
        """Release what ``connect`` acquired."""

    async def check(self) -> None:
        """Raise if the connector cannot serve requests now."""

    def describe(self) -> str:
        """A one-line description for logs and ``pygentic connectors``."""
        return self.type
