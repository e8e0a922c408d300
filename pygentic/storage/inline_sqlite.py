"""An aiosqlite connection that runs its calls on the event loop's own thread.

aiosqlite runs every call (a cursor, an execute, a fetch, a close) on a worker thread and hands the result
back through the event loop: four thread hand-offs per statement, each a wake-up and a GIL switch. A
small write transaction on SQLite (a few indexed statements, a commit in WAL mode with
``synchronous=NORMAL``, which does not sync) takes tens of microseconds of SQLite time, far less than
those hand-offs. :class:`InlineConnection` keeps aiosqlite's interface, so SQLAlchemy's ``aiosqlite``
dialect drives it unchanged, but runs each call immediately.

Only the write engine uses it (one connection; writers take turns anyway). Reads that may be large (pages,
chunk scans) stay on threaded connections. The connection never checkpoints the WAL on commit (a
checkpoint writes and syncs the database file): :func:`checkpoint` does that off the loop.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable, Generator
from typing import Any

import aiosqlite


class _RunNow:
    """Stands in for aiosqlite's queue to its worker thread: runs each queued call at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:
            if future is not None and not future.done():
                future.set_exception(exc)
        else:
            if future is not None and not future.done():
                future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An ``aiosqlite.Connection`` without a worker thread: every call runs on the caller's thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunNow()  # type: ignore[assignment]

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # connects inline: no worker thread to start


def inline_connector(path: str, timeout: float) -> Callable[[], Any]:
    """An ``async_creator`` for SQLAlchemy: a coroutine function making an :class:`InlineConnection`."""

    async def connect() -> InlineConnection:
        connector = functools.partial(sqlite3.connect, path, timeout=timeout, check_same_thread=False)
        return await InlineConnection(connector)

    return connect


def checkpoint(path: str, timeout: float) -> tuple[int, int, int]:
    """Copy what the WAL holds into the database file (PASSIVE: never waits for readers or the writer);
    SQLite's (busy, log pages, checkpointed pages). Blocking: call it in a worker thread."""
    conn = sqlite3.connect(path, timeout=timeout)
    try:
        row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(row[0]), int(row[1]), int(row[2])
    finally:
        conn.close()
