"""The async engine, its sessions and schema creation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from pygentic.config import DatabaseSettings
from pygentic.storage import tables  # noqa: F401  (registers the tables on SQLModel.metadata)

log = logging.getLogger("pygentic.storage")

SQLITE_BUSY_TIMEOUT_S = 30


def async_url(url: str) -> str:
    """Map a plain database URL to its async driver: sqlite -> aiosqlite, postgresql -> asyncpg."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    base = scheme.split("+", 1)[0]
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if base in ("postgres", "postgresql"):
        return f"postgresql+asyncpg://{rest}"
    raise ValueError(f"unsupported database URL scheme {scheme!r} (use sqlite:/// or postgresql://)")


class Database:
    """The storage engine: sessions for reading and transactions for writing.

    On SQLite, writes from this process are serialized by an asyncio lock (one writer at a time is all SQLite
    allows; the lock keeps writers from failing with "database is locked"), readers run concurrently thanks
    to WAL mode, and a busy timeout covers other processes.
    """

    def __init__(self, settings: DatabaseSettings) -> None:
        self.settings = settings
        self.url = async_url(settings.url)
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": settings.echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
        else:
            kwargs.update(pool_size=settings.pool_size, max_overflow=settings.pool_size, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    async def create_schema(self) -> None:
        """Create missing tables (idempotent; safe when several replicas start at once on PostgreSQL)."""
        async with self.engine.begin() as conn:
            if not self.is_sqlite:
                # Serialize concurrent schema creation across replicas.
                await conn.execute(text("SELECT pg_advisory_xact_lock(724310591)"))
            await conn.run_sync(SQLModel.metadata.create_all)
            added = await conn.run_sync(_add_missing_columns)
            indexes = await conn.run_sync(_add_missing_indexes)
        for column in added:
            log.warning("schema upgraded", extra={"added_column": column})
        for index in indexes:
            log.warning("schema upgraded", extra={"added_index": index})
        log.info("storage ready", extra={"backend": "sqlite" if self.is_sqlite else "postgresql"})

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads."""
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction, committed when the block ends without an exception."""
        if self._write_lock is None:
            async with self._sessions() as session, session.begin():
                yield session
            return
        async with self._write_lock, self._sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def _add_missing_columns(conn: Connection) -> list[str]:
    """Additive upgrades: add the nullable columns a newer version declares to tables an older one created.

    Tables are created when missing; a column is added only when it may be NULL (or has a default), so
    existing rows stay valid. Anything else (renames, type changes) needs a real migration.
    """
    inspector = inspect(conn)
    added = []
    for table in SQLModel.metadata.sorted_tables:
        existing = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in existing:
                continue
            if not column.nullable and column.server_default is None:
                raise RuntimeError(
                    f"table {table.name} lacks the required column {column.name}: "
                    "this database needs a migration"
                )
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))
            added.append(f"{table.name}.{column.name}")
    return added


def _add_missing_indexes(conn: Connection) -> list[str]:
    """Additive upgrades: create the indexes a newer version declares on tables an older one created."""
    inspector = inspect(conn)
    added = []
    for table in SQLModel.metadata.sorted_tables:
        existing = {i["name"] for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in existing:
                index.create(conn)
                added.append(f"{table.name}.{index.name}")
    return added


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
