"""API keys: which project a caller acts for.

A key is ``sk-pyg-`` and 43 random URL-safe characters (256 bits); only its SHA-256 is stored, so a stolen
database holds no usable key and a lookup is one indexed read. Keys are made and revoked with
``pygentic keys create|list|revoke`` or the Admin gRPC service; a server where no key was ever made is
open (every caller acts for the default project). Lookups are cached for :data:`CACHE_S` seconds, so a
key revoked on one replica stops working on every replica within that time.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlmodel import col, select

from pygentic import ids
from pygentic.config import KeySettings
from pygentic.errors import ApiError, ErrorKind, not_found
from pygentic.storage import Database
from pygentic.storage.repositories import now
from pygentic.storage.tables import ApiKeyRow
from pygentic.storage.tenancy import DEFAULT_PROJECT, acting_for, set_project

SECRET_PREFIX = "sk-pyg-"
CACHE_S = 2.0
KEY_ID_PREFIX = "key_"


@dataclass(frozen=True)
class Caller:
    """Who a request comes from: the project it acts for, its key (None on an open server) and that
    key's limit of active runs (0: none)."""

    project: str
    key_id: str | None = None
    active_runs: int = 0
    admin: bool = False


_caller: ContextVar[Caller | None] = ContextVar("pygentic_caller", default=None)


def current_caller() -> Caller | None:
    """The caller the running task serves (None: internal work)."""
    return _caller.get()


def act_as(caller: Caller) -> None:
    """Serve ``caller`` from now on in this task: its project's objects, its limits."""
    _caller.set(caller)
    set_project(caller.project)


@contextmanager
def serving(caller: Caller) -> Iterator[None]:
    """Serve ``caller`` inside the block."""
    token = _caller.set(caller)
    try:
        with acting_for(caller.project):
            yield
    finally:
        _caller.reset(token)


class RateLimiter:
    """Requests per minute per key, as a token bucket (a burst of up to a minute's worth, refilled
    evenly), in this process."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, time)

    def wait_for(self, key_id: str, per_minute: int) -> float | None:
        """None: the request may go now (and is counted). Else the seconds until it may."""
        t = time.monotonic()
        tokens, last = self._buckets.get(key_id, (float(per_minute), t))
        tokens = min(float(per_minute), tokens + (t - last) * per_minute / 60.0)
        if tokens >= 1.0:
            self._buckets[key_id] = (tokens - 1.0, t)
            return None
        self._buckets[key_id] = (tokens, t)
        return (1.0 - tokens) * 60.0 / per_minute


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def unauthenticated(message: str) -> ApiError:
    return ApiError(ErrorKind.UNAUTHENTICATED, message)


class KeyStore:
    """Makes, lists, revokes and checks API keys (in the database, shared by every replica)."""

    def __init__(self, db: Database, limits: KeySettings | None = None, cache_s: float = CACHE_S) -> None:
        self.db = db
        self.limits = limits or KeySettings()
        self.cache_s = cache_s
        self.rates = RateLimiter()
        self._rate_of: dict[str, int] = {}
        self._lookups: dict[str, tuple[float, Caller | None]] = {}
        self._open: tuple[float, bool] | None = None

    async def create(
        self,
        project: str,
        name: str = "",
        requests_per_minute: int | None = None,
        active_runs: int | None = None,
        admin: bool = False,
    ) -> tuple[ApiKeyRow, str]:
        """A new key for ``project``: its row and its secret (shown once, never stored). Its own limits,
        when given, replace ``[keys]``'s (0: none)."""
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
            requests_per_minute=requests_per_minute,
            active_runs=active_runs,
            admin=admin,
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
            runs = row.active_runs if row.active_runs is not None else self.limits.active_runs
            caller = Caller(project=row.project_id, key_id=row.id, active_runs=runs, admin=row.admin)
            rate = row.requests_per_minute
            self._rate_of[row.id] = rate if rate is not None else self.limits.requests_per_minute
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
        if caller is not None and caller.key_id is not None:
            per_minute = self._rate_of.get(caller.key_id, 0)
            wait = self.rates.wait_for(caller.key_id, per_minute) if per_minute else None
            if wait is not None:
                raise ApiError(
                    ErrorKind.RESOURCE_EXHAUSTED,
                    f"Rate limit reached for key {caller.key_id}: {per_minute} requests per minute. "
                    f"Try again in {wait:.1f} s.",
                    retry_after=wait,
                )
        if caller is None:
            shown = secret.strip()[: len(SECRET_PREFIX) + 4] + "..." if secret else "(none)"
            raise unauthenticated(
                f"Incorrect API key provided: {shown}. Keys are made with `pygentic keys create`."
            )
        return caller
