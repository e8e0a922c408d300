"""The async engine, its sessions and schema creation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import event, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from pygentic.config import DatabaseSettings
from pygentic.storage import (
    migrations,
    tables,  # noqa: F401  (registers the tables on SQLModel.metadata)
)
from pygentic.storage.inline_sqlite import checkpoint, inline_connector
from pygentic.storage.statements import (
    AsyncpgTransaction,
    CoreTransaction,
    SqliteTransaction,
    Transaction,
    connect_asyncpg_pool,
    connect_sqlite,
    sqlite_pragmas,
)
from pygentic.storage.write_lock import WriteLock

log = logging.getLogger("pygentic.storage")

SQLITE_BUSY_TIMEOUT_S = 30
CHECKPOINT_INTERVAL_S = 1.0
WAL_RESTART_PAGES = 1000  # a WAL this long is started over (SQLite's own autocheckpoint default)


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


def plain_dsn(url: str) -> str:
    """``postgresql+asyncpg://...`` (or ``postgres://``) as the plain DSN asyncpg takes."""
    scheme, _, rest = url.partition("://")
    return f"postgresql://{rest}" if scheme.split("+", 1)[0] in ("postgres", "postgresql") else url


class Database:
    """The storage engine: sessions for reading and transactions for writing.

    On SQLite, writes take turns (one writer at a time is all SQLite allows): on a file through
    :class:`~pygentic.storage.write_lock.WriteLock`, among this process's tasks and among the processes
    sharing the file, without the event loop ever waiting; in memory through an asyncio lock. They run on
    one connection that executes on the event loop's thread (:mod:`pygentic.storage.inline_sqlite`: no
    thread hand-off per statement). Readers have their own connections (WAL mode: a reader never waits for
    the writer), also inline, except bulk reads, which run on threaded connections; a task checkpoints the
    WAL off the loop. A busy timeout covers writers outside Pygentic.

    On PostgreSQL the hot path (:meth:`transaction`, :meth:`reading`) runs on a pool of ``asyncpg``
    connections of its own (up to twice ``pool_size``), beside SQLAlchemy's pool for sessions (the same
    size): a process opens at most four times ``pool_size`` connections.
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
        self.write_engine = self.read_engine = self.engine
        self.sqlite_path = _sqlite_file(self.url) if self.is_sqlite else None
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        if self.sqlite_path is not None:
            self.write_engine = create_async_engine(
                self.url,
                echo=settings.echo,
                async_creator=inline_connector(self.sqlite_path, SQLITE_BUSY_TIMEOUT_S),
                pool_size=1,
                max_overflow=0,
            )
            event.listen(self.write_engine.sync_engine, "connect", _sqlite_writer_pragmas)
            self.read_engine = create_async_engine(
                self.url,
                echo=settings.echo,
                async_creator=inline_connector(self.sqlite_path, SQLITE_BUSY_TIMEOUT_S),
                pool_size=settings.pool_size,
                max_overflow=settings.pool_size,
            )
            event.listen(self.read_engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(self.read_engine, class_=AsyncSession, expire_on_commit=False)
        self._bulk_sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(
            self.write_engine, class_=AsyncSession, expire_on_commit=False
        )
        self._write_lock: WriteLock | asyncio.Lock | None = None
        if self.sqlite_path is not None:
            self._write_lock = WriteLock(self.sqlite_path)
        elif self.is_sqlite:
            self._write_lock = asyncio.Lock()
        self._checkpoints: asyncio.Task[None] | None = None
        self._driver: sqlite3.Connection | None = None  # the hot path's (transaction()), once used
        self._reader: sqlite3.Connection | None = None  # and its reader (reading())
        self._pg_pool: asyncpg.Pool | None = None  # PostgreSQL's hot path (transaction(), reading())
        self._pg_pool_opening = asyncio.Lock()

    @staticmethod
    def is_in_memory(url: str) -> bool:
        """Whether ``url`` is an in-memory SQLite database (one process, one connection, holds it)."""
        converted = async_url(url)
        return converted.startswith("sqlite") and _sqlite_file(converted) is None

    async def create_schema(self) -> None:
        """Bring the schema to the newest migration (:mod:`pygentic.storage.migrations`), in one
        transaction. Safe when several replicas start at once on PostgreSQL: one migrates, the others
        wait for its lock and then find nothing to do; on a SQLite file the processes sharing it take turns
        the same way (the write lock)."""
        async with self._writers_turn(), self.engine.begin() as conn:
            if not self.is_sqlite:
                await conn.execute(text("SELECT pg_advisory_xact_lock(724310591)"))
            applied = await conn.run_sync(migrations.upgrade)
        for revision in applied:
            log.warning("schema migrated", extra={"revision": revision})
        if self.sqlite_path is not None and self._checkpoints is None:
            self._checkpoints = asyncio.create_task(self._checkpoint_forever(), name="sqlite checkpoints")
        log.info("storage ready", extra={"backend": "sqlite" if self.is_sqlite else "postgresql"})

    async def _checkpoint_forever(self) -> None:
        """Move the WAL's pages into the database file, in a worker thread, once a second (the writer
        never does it on commit, so that a commit never waits for the file to sync)."""
        assert self.sqlite_path is not None
        while True:
            await asyncio.sleep(CHECKPOINT_INTERVAL_S)
            try:
                await self._checkpoint()
            except Exception:
                log.warning("sqlite checkpoint failed", exc_info=True)

    async def _checkpoint(self) -> None:
        """One checkpoint, beside the writers. SQLite starts the WAL over only at a write that begins
        when every page of it is in the database file; beside writers that never pause, a new page is
        always there first, and the WAL grows by every page ever written (180 MB after a thousand runs
        of the benchmark, for a 2 MB database). So once the WAL holds more than
        ``WAL_RESTART_PAGES``, what the first pass left (what was written meanwhile: milliseconds of
        copying) is copied holding the write lock, and the next write starts the WAL over
        (``journal_size_limit`` then truncates the file)."""
        assert self.sqlite_path is not None
        _busy, pages, _copied = await asyncio.to_thread(checkpoint, self.sqlite_path, SQLITE_BUSY_TIMEOUT_S)
        if pages > WAL_RESTART_PAGES and self._write_lock is not None:
            async with self._write_lock:
                await asyncio.to_thread(checkpoint, self.sqlite_path, SQLITE_BUSY_TIMEOUT_S)

    def _writers_turn(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """This writer's turn: the SQLite write lock (PostgreSQL's writers need none)."""
        return self._write_lock if self._write_lock is not None else contextlib.nullcontext()

    @asynccontextmanager
    async def read(self, *, bulk: bool = False) -> AsyncIterator[AsyncSession]:
        """A session for reads. On SQLite its statements run on the event loop's thread (an indexed read
        takes microseconds there; a thread hand-off costs more), unless ``bulk``: reads of many rows or
        large values (a store's vectors, integrity scans) run on a worker thread."""
        async with (self._bulk_sessions if bulk else self._sessions)() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction, committed when the block ends without an exception."""
        async with self._writers_turn(), self._write_sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A write transaction for hot-path statements (:mod:`pygentic.storage.statements`), committed
        when the block ends without an exception. On a SQLite file they run on a ``sqlite3`` connection
        of their own, taking turns with :meth:`write` (the same lock); elsewhere as Core on a pooled
        connection."""
        if not self.is_sqlite:
            pool = self._pg_pool or await self._open_pg_pool()
            async with pool.acquire() as connection, connection.transaction():
                yield AsyncpgTransaction(connection)
            return
        if self.sqlite_path is None:  # an in-memory database: SQLAlchemy's one connection
            async with self._writers_turn(), self.write_engine.begin() as connection:
                yield CoreTransaction(connection)
            return
        async with self._write_lock:  # type: ignore[union-attr]
            driver = self.driver_connection()
            driver.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteTransaction(driver)
                driver.execute("COMMIT")
            except BaseException:
                if driver.in_transaction:
                    driver.execute("ROLLBACK")
                raise

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Transaction]:
        """Hot-path statements that only read (:mod:`pygentic.storage.statements`): on a SQLite file on
        a ``sqlite3`` connection of their own, each statement seeing what is committed (WAL: never
        waiting for a writer); on PostgreSQL on a pooled ``asyncpg`` connection, each statement in a
        transaction of its own; in an in-memory database as Core."""
        if not self.is_sqlite:
            pool = self._pg_pool or await self._open_pg_pool()
            async with pool.acquire() as connection:
                yield AsyncpgTransaction(connection)
            return
        if self.sqlite_path is None:
            async with self.read_engine.connect() as connection:
                yield CoreTransaction(connection)
            return
        if self._reader is None:
            self._reader = connect_sqlite(self.sqlite_path, SQLITE_BUSY_TIMEOUT_S)
        yield SqliteTransaction(self._reader)

    async def _open_pg_pool(self) -> asyncpg.Pool:
        """The hot path's ``asyncpg`` pool, opened on first use (on the serving event loop)."""
        async with self._pg_pool_opening:
            if self._pg_pool is None:
                self._pg_pool = await connect_asyncpg_pool(
                    plain_dsn(self.settings.url), 2 * self.settings.pool_size
                )
        return self._pg_pool

    def driver_connection(self) -> sqlite3.Connection:
        """The ``sqlite3`` connection :meth:`transaction` writes on (a SQLite file only), opened on first
        use; for diagnostics and tests (e.g. a per-connection ``PRAGMA``)."""
        assert self.sqlite_path is not None, "only a SQLite file has a driver connection"
        if self._driver is None:
            self._driver = connect_sqlite(self.sqlite_path, SQLITE_BUSY_TIMEOUT_S)
        return self._driver

    async def ping(self) -> None:
        """Raise if the database cannot be reached."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        """Close every pooled connection (after a last checkpoint on SQLite)."""
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoints
            self._checkpoints = None
        for connection in (self._driver, self._reader):
            if connection is not None:
                connection.close()
        self._driver = self._reader = None
        if self._pg_pool is not None:
            await self._pg_pool.close()
            self._pg_pool = None
        for engine in {self.write_engine, self.read_engine} - {self.engine}:
            await engine.dispose()
        await self.engine.dispose()
        if self.sqlite_path is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(checkpoint, self.sqlite_path, SQLITE_BUSY_TIMEOUT_S)
        if isinstance(self._write_lock, WriteLock):
            self._write_lock.close()


def _sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL (None for an in-memory database, which one connection must hold)."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def _sqlite_writer_pragmas(dbapi_connection: Any, _record: Any) -> None:
    _apply(dbapi_connection, sqlite_pragmas(SQLITE_BUSY_TIMEOUT_S, writer=True))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    _apply(dbapi_connection, sqlite_pragmas(SQLITE_BUSY_TIMEOUT_S, writer=False))


def _apply(dbapi_connection: Any, pragmas: list[str]) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in pragmas:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()
