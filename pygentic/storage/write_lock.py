"""Writers of one SQLite file taking turns, within a process and across the processes sharing the file.

SQLite allows one writer at a time. Its own lock answers a second writer with a busy wait (sleeps of 1 ms
and more inside ``sqlite3``), which on the hot path's inline connection would stop the event loop. So
every Pygentic writer first takes :class:`WriteLock`: an ``asyncio.Lock`` among this process's tasks, then
an exclusive ``flock`` on ``<database>-writer.lock`` among processes (``pygentic serve --workers N`` on
SQLite, or several servers started by hand on one file). The ``flock`` is tried without blocking first (one
system call, and free when nobody else writes); only when another process holds it does a worker thread wait
for it, so the event loop never does. SQLite's own lock is then always free for the holder, and its busy
timeout only covers writers outside Pygentic (e.g. the ``sqlite3`` shell).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import Callable
from types import TracebackType


def lock_file_of(database: str) -> str:
    """The lock file of the SQLite database file ``database``."""
    return f"{database}-writer.lock"


class WriteLock:
    """An async context manager: this process's turn to write ``database``, among its tasks and among the
    processes sharing the file. Not reentrant."""

    def __init__(self, database: str) -> None:
        self.path = lock_file_of(database)
        self._local = asyncio.Lock()
        self._fd: int | None = None
        self.waits = 0  # how often another process held the file (diagnostics, tests)

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self._fd

    async def __aenter__(self) -> WriteLock:
        await self._local.acquire()
        try:
            await self._take_file()
        except BaseException:
            self._local.release()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self._local.release()

    def locked(self) -> bool:
        """Whether a task of this process holds (or is taking) the lock."""
        return self._local.locked()

    async def _take_file(self) -> None:
        fd = self._file()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        self.waits += 1
        waiting = asyncio.get_running_loop().run_in_executor(None, fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            await asyncio.shield(waiting)
        except asyncio.CancelledError:
            # The thread still takes the lock when the other process lets go: give it back then.
            waiting.add_done_callback(_release_if_taken(fd))
            raise

    def close(self) -> None:
        """Close the lock file (the lock must not be held)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def _release_if_taken(fd: int) -> Callable[[asyncio.Future[None]], None]:
    def release(future: asyncio.Future[None]) -> None:
        if not future.cancelled() and future.exception() is None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)

    return release
