"""Idempotent retries: the first answer to a request with an idempotency key is the answer to every retry.

A client that lost a response (the connection died after the server committed) sends the request again
with the same key (REST ``Idempotency-Key``, gRPC ``idempotency-key`` metadata) and gets the first result
instead of a second object. The record lives in the database, so a retry reaching another replica is
answered the same way. Keys are kept for :data:`KEY_TTL_S` (24 h); the same key with another request is
ALREADY_EXISTS (409); a retry while the first attempt is still running waits for it (up to
:data:`WAIT_S`). Only successes are kept: after an error the key is free and a retry runs again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from pygentic.errors import ApiError, ErrorKind, invalid
from pygentic.storage import Database
from pygentic.storage.tables import IdempotencyRow
from pygentic.storage.tenancy import DEFAULT_PROJECT, current_project

KEY_TTL_S = 24 * 3600
WAIT_S = 30.0  # how long a retry waits for the first attempt still running
ABANDONED_S = 600.0  # a first attempt this old and unfinished died with its process: the key is free
POLL_S = 0.05
MAX_KEY = 190  # stored with its project (up to 64 characters) in a column of 255


RUN_STREAM = "application/x-pygentic-run-stream"  # a kept stream of run events: the run's ids, as JSON


@dataclass(frozen=True)
class Replay:
    """The first attempt's answer: its status (HTTP status, or 0 for gRPC OK), media type and body."""

    status: int
    content_type: str
    body: bytes

    @property
    def run(self) -> tuple[str, str] | None:
        """(thread id, run id) when the first answer was a stream of that run's events."""
        if self.content_type != RUN_STREAM:
            return None
        ids = json.loads(self.body)
        return ids["thread_id"], ids["run_id"]


def fingerprint(parts: Iterable[bytes | str]) -> str:
    """A digest of what makes two requests the same (method, path, body)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def scoped_key(key: str) -> str:
    """The stored form of a client's key: its project's (two projects may use the same key)."""
    return f"{current_project() or DEFAULT_PROJECT}:{key}"


class IdempotencyStore:
    """The database's record of keyed requests, shared by both front doors and every replica."""

    def __init__(self, db: Database, wait: float = WAIT_S) -> None:
        self.db = db
        self.wait = wait

    async def begin(self, key: str, digest: str) -> Replay | None:
        """None: the request goes ahead (the key is now held for it). A :class:`Replay`: answer with the
        first attempt's result. ALREADY_EXISTS: the key belongs to another request, or its first attempt
        is still running after :attr:`wait` seconds."""
        if not key or len(key) > MAX_KEY:
            raise invalid("Idempotency-Key", f"must be 1 to {MAX_KEY} characters.")
        key = scoped_key(key)
        deadline = time.monotonic() + self.wait
        while True:
            row = await self._claim(key, digest)
            if row is None:
                return None
            if row.digest != digest:
                raise ApiError(
                    ErrorKind.ALREADY_EXISTS,
                    f"Idempotency-Key '{key[:80]}' was already used for a different request.",
                    param="Idempotency-Key",
                )
            if row.state == "done":
                return Replay(row.status or 0, row.content_type or "", bytes(row.body or b""))
            if time.monotonic() > deadline:
                raise ApiError(
                    ErrorKind.ALREADY_EXISTS,
                    f"A request with Idempotency-Key '{key[:80]}' is still being processed; retry later.",
                    param="Idempotency-Key",
                )
            await asyncio.sleep(POLL_S)

    async def _claim(self, key: str, digest: str) -> IdempotencyRow | None:
        """Hold ``key`` for this request (None), or the record that already holds it."""
        t = time.time()
        try:
            async with self.db.write() as session:
                row = await session.get(IdempotencyRow, key)
                stale = row is not None and (
                    row.created_at < t - KEY_TTL_S
                    or (row.state == "pending" and row.created_at < t - ABANDONED_S)
                )
                if row is not None and not stale:
                    session.expunge(row)
                    return row
                if row is not None:
                    await session.delete(row)
                    await session.flush()
                session.add(IdempotencyRow(key=key, digest=digest, state="pending", created_at=t))
        except IntegrityError:  # another replica claimed it between our read and our insert
            async with self.db.read() as session:
                row = await session.get(IdempotencyRow, key)
            if row is None:
                return await self._claim(key, digest)
            return row
        return None

    async def finish(self, key: str, status: int, content_type: str, body: bytes) -> None:
        """Keep the answer of the request holding ``key``."""
        key = scoped_key(key)
        async with self.db.write() as session:
            row = await session.get(IdempotencyRow, key)
            if row is not None:
                row.state, row.status, row.content_type, row.body = "done", status, content_type, body
                session.add(row)

    async def finish_run(self, key: str, thread_id: str, run_id: str) -> None:
        """Keep, as the answer of the request holding ``key``, the run its stream is about: a retry
        follows that run instead of starting another."""
        body = json.dumps({"thread_id": thread_id, "run_id": run_id}).encode()
        await self.finish(key, 0, RUN_STREAM, body)

    async def release(self, key: str) -> None:
        """The request holding ``key`` failed: the key is free for a retry."""
        key = scoped_key(key)
        async with self.db.write() as session:
            await session.exec(  # type: ignore[call-overload]
                delete(IdempotencyRow).where(IdempotencyRow.key == key, IdempotencyRow.state == "pending")
            )

    async def remove_expired(self) -> int:
        """Forget keys older than :data:`KEY_TTL_S`; how many."""
        async with self.db.write() as session:
            result = await session.exec(  # type: ignore[call-overload]
                delete(IdempotencyRow).where(IdempotencyRow.created_at < time.time() - KEY_TTL_S)
            )
        return int(getattr(result, "rowcount", 0) or 0)
