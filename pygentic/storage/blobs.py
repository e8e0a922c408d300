"""File bytes on disk, streamed in and out in chunks (never a whole file in memory).

Keys are the ids Pygentic generates (``file-...``), never a user's file name, and are checked against a
strict pattern, so nothing can escape the directory. An upload is written to ``.incoming/<key>.part``,
flushed to disk and renamed into place only when complete, so a reader never sees half a file and a crash
leaves at most a ``.part`` file, removed at the next start. Disk I/O runs in worker threads.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from pygentic.config import FilesSettings

log = logging.getLogger("pygentic.files")

KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
READ_CHUNK = 1024 * 1024
STALE_PART_S = 24 * 3600


class BlobTooLarge(Exception):
    """The stream went past the size limit; nothing was kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


async def within(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """``chunks`` as they come, raising :class:`BlobTooLarge` once they add up to more than ``limit``."""
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise BlobTooLarge(limit)
        yield chunk


class BlobStore(Protocol):
    """Where file bytes live: a directory (:class:`LocalBlobStore`) or an S3-compatible object store
    (:class:`pygentic.storage.s3_blobs.S3BlobStore`)."""

    def describe(self) -> str: ...

    async def start(self) -> None: ...

    async def write(self, key: str, chunks: AsyncIterator[bytes], limit: int) -> int: ...

    def read(self, key: str, chunk_size: int = READ_CHUNK) -> AsyncIterator[bytes]: ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...


def blob_store(settings: FilesSettings, database_url: str) -> BlobStore:
    """The store ``[connectors.files]`` configures."""
    if settings.url:
        from pygentic.storage.s3_blobs import S3BlobStore

        return S3BlobStore(settings)
    return LocalBlobStore(settings.resolved_dir(database_url))


class LocalBlobStore:
    """Blobs as files in one directory (a shared mount when several replicas use it)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.incoming = root / ".incoming"

    def describe(self) -> str:
        return str(self.root)

    async def start(self) -> None:
        """Create the directories and remove uploads a crashed process left behind."""
        await asyncio.to_thread(self._prepare)

    def _prepare(self) -> None:
        self.incoming.mkdir(parents=True, exist_ok=True)
        cutoff = time.time() - STALE_PART_S
        for part in self.incoming.glob("*.part"):
            try:
                if part.stat().st_mtime < cutoff:
                    part.unlink()
                    log.info("stale partial upload removed", extra={"path": str(part)})
            except OSError:
                pass

    def _path(self, key: str) -> Path:
        if not KEY.match(key):
            raise ValueError(f"invalid blob key {key!r}")
        return self.root / key

    async def write(self, key: str, chunks: AsyncIterator[bytes], limit: int) -> int:
        """Store ``chunks`` under ``key``; the number of bytes written. Raises :class:`BlobTooLarge` past
        ``limit`` bytes (and keeps nothing), or whatever the chunk source raises."""
        final = self._path(key)
        part = self.incoming / f"{key}.part"
        handle: BinaryIO = await asyncio.to_thread(open, part, "wb")
        size = 0
        try:
            async for chunk in within(chunks, limit):
                size += len(chunk)
                if chunk:
                    await asyncio.to_thread(handle.write, chunk)
            await asyncio.to_thread(_flush_and_close, handle)
            await asyncio.to_thread(os.replace, part, final)
        except BaseException:
            await asyncio.to_thread(_discard, handle, part)
            raise
        return size

    async def read(self, key: str, chunk_size: int = READ_CHUNK) -> AsyncIterator[bytes]:
        """The blob's bytes in chunks; FileNotFoundError when it is missing."""
        handle: BinaryIO = await asyncio.to_thread(open, self._path(key), "rb")
        async for chunk in stream_from(handle, chunk_size):
            yield chunk

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        """Remove the blob (a missing one is not an error)."""
        path = self._path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)


class Readable(Protocol):
    """A blocking byte source: an open file, an S3 response body."""

    def read(self, size: int) -> bytes: ...

    def close(self) -> None: ...


async def stream_from(source: Readable, chunk_size: int = READ_CHUNK) -> AsyncIterator[bytes]:
    """``source``'s bytes in chunks, each read in a worker thread; ``source`` is closed at the end."""
    try:
        while True:
            chunk = await asyncio.to_thread(source.read, chunk_size)
            if not chunk:
                return
            yield chunk
    finally:
        await asyncio.to_thread(source.close)


def _flush_and_close(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()


def _discard(handle: BinaryIO, part: Path) -> None:
    try:
        handle.close()
    finally:
        part.unlink(missing_ok=True)
