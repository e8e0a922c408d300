"""API keys: which project a caller acts for.

A key is ``sk-pyg-`` and 43 random URL-safe characters (256 bits); only its SHA-256 is stored, so a stolen
database holds no usable key and a lookup is one indexed read. Keys are made and revoked with
``pygentic keys create|list|revoke``; a server where no key was ever made is open (every caller acts for
the default project). Lookups are cached for :data:`CACHE_S` seconds, so a key revoked
on one replica stops working on every replica within that time.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlmodel import col, select

from pygentic import ids
from pygentic.errors import ApiError, ErrorKind, not_found
from pygentic.storage import Database
from pygentic.storage.repositories import now
from pygentic.storage.tables import ApiKeyRow
from pygentic.storage.tenancy import DEFAULT_PROJECT

SECRET_PREFIX = "sk-pyg-"
CACHE_S = 2.0
KEY_ID_PREFIX = "key_"


@dataclass(frozen=True)
class Caller:
    """Who a request comes from: the project it acts for, and its key (None on an open server)."""

    project: str
    key_id: str | None = None


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def unauthenticated(message: str) -> ApiError:
    return ApiError(ErrorKind.UNAUTHENTICATED, message)


class KeyStore:
    """Makes, lists, revokes and checks API keys (in the database, shared by every replica)."""

    def __init__(self, db: Database, cache_s: float = CACHE_S) -> None:
        self.db = db
        self.cache_s = cache_s
        self._lookups: dict[str, tuple[float, Caller | None]] = {}
        self._open: tuple[float, bool] | None = None

    async def create(self, project: str, name: str = "") -> tuple[ApiKeyRow, str]:
        """A new key for ``project``: its row and its secret (shown once, never stored)."""
        if not project or len(project) > 64 or not all(c.isalnum() or c in "-_." for c in project):
            raise ApiError(
                ErrorKind.INVALID_ARGUMENT,
                "A project name is 1 to 64 letters, digits, '-', '_' or '.'.",
                param="project",
            )
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        row = ApiKeyRow(
            id=ids.new_id(KEY_ID_PREFIX),
            project_id=project,
            name=name[:256],
            prefix=secret[: len(SECRET_PREFIX) + 4],
            digest=digest_of(secret),
            created_at=now(),
        )
        async with self.db.write() as session:
            session.add(row)
        self._open = None
        return row, secret

    async def list(self) -> list[ApiKeyRow]:
        async with self.db.read() as session:
            return list((await session.exec(select(ApiKeyRow).order_by(col(ApiKeyRow.seq)))).all())

    async def revoke(self, key_id: str) -> ApiKeyRow:
        async with self.db.write() as session:
            row = (await session.exec(select(ApiKeyRow).where(ApiKeyRow.id == key_id))).first()
            if row is None:
                raise not_found("API key", key_id, "key_id")
            if row.revoked_at is None:
                row.revoked_at = now()
                session.add(row)
        self._lookups.clear()
        return row

    async def is_open(self) -> bool:
        """Whether no key was ever made (then every caller acts for the default project). Revoking every
        key does not open a server again: it then refuses everyone until a new key is made."""
        t = time.monotonic()
        if self._open is not None and t - self._open[0] < self.cache_s:
            return self._open[1]
        async with self.db.read() as session:
            made = (await session.exec(select(ApiKeyRow.id).limit(1))).first()
        self._open = (t, made is None)
        return made is None

    async def authenticate(self, secret: str | None) -> Caller | None:
        """The caller a secret identifies, None for an unknown or revoked one."""
        if not secret or not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
            return None
        digest = digest_of(secret)
        t = time.monotonic()
        cached = self._lookups.get(digest)
        if cached is not None and t - cached[0] < self.cache_s:
            return cached[1]
        async with self.db.read() as session:
            row = (await session.exec(select(ApiKeyRow).where(ApiKeyRow.digest == digest))).first()
        caller = None
        if row is not None and row.revoked_at is None and secrets.compare_digest(row.digest, digest):
            caller = Caller(project=row.project_id, key_id=row.id)
        if len(self._lookups) > 10_000:
            self._lookups.clear()
        self._lookups[digest] = (t, caller)
        return caller

    async def caller(self, authorization: str | None) -> Caller:
        """The caller of a request with this ``Authorization`` value (``Bearer <key>``); UNAUTHENTICATED
        when keys are required (one was ever made) and it names none that is active."""
        if await self.is_open():
            return Caller(project=DEFAULT_PROJECT)
        if not authorization:
            raise unauthenticated(
                "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' "
                "(gRPC: 'authorization' metadata)."
            )
        scheme, _, secret = authorization.strip().partition(" ")
        caller = await self.authenticate(secret.strip()) if scheme.lower() == "bearer" else None
        if caller is None:
            shown = secret.strip()[: len(SECRET_PREFIX) + 4] + "..." if secret else "(none)"
            raise unauthenticated(
                f"Incorrect API key provided: {shown}. Keys are made with `pygentic keys create`."
            )
        return caller
