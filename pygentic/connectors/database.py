"""``[connectors.database]``: the storage engine as a connector (schema on connect, pool closed on
disconnect)."""

from __future__ import annotations

from pygentic.config import redact_url
from pygentic.connectors.base import BaseConnector
from pygentic.storage import Database


class DatabaseConnector(BaseConnector):
    """Wraps :class:`pygentic.storage.Database`."""

    type = "database"

    def __init__(self, db: Database) -> None:
        self.db = db
        self.name = "database"

    async def connect(self) -> None:
        await self.db.create_schema()

    async def disconnect(self) -> None:
        await self.db.close()

    async def check(self) -> None:
        await self.db.ping()

    def describe(self) -> str:
        return f"database url={redact_url(self.db.settings.url)}"
