"""An event bus shared by the processes of one PostgreSQL database, over LISTEN/NOTIFY.

Every event is fanned out locally (as :class:`EventBus` does) and sent on one channel to the other
processes, which hand it to their own subscribers. Notifications from one sender arrive in order, which
makes late joins exact: a process that wants to follow a run another process executes subscribes, then asks
the owner for a snapshot; the owner answers on the same ordered channel, so everything after the snapshot
is exactly what happened after it. Payloads too large for a notification (about 8 kB) travel through a
small table.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg

from pygentic.proto.v1 import runs_pb2
from pygentic.runtime.bus import DEFAULT_MAX_BUFFER, EventBus, Subscription

log = logging.getLogger("pygentic.bus")

CHANNEL = "pygentic_run_events"
MAX_NOTIFY_BYTES = 7000
BLOB_TTL_S = 300.0
SNAPSHOT_TIMEOUT_S = 2.0


def _encode(event: runs_pb2.RunEvent) -> str:
    return base64.b64encode(event.SerializeToString()).decode()


def _decode(data: str) -> runs_pb2.RunEvent:
    return runs_pb2.RunEvent.FromString(base64.b64decode(data))


def plain_dsn(url: str) -> str:
    """``postgresql+asyncpg://...`` (or ``postgres://``) as the plain DSN asyncpg takes."""
    scheme, _, rest = url.partition("://")
    return f"postgresql://{rest}" if scheme.split("+", 1)[0] in ("postgres", "postgresql") else url


class PostgresEventBus(EventBus):
    """:class:`EventBus` across processes. ``snapshot_provider`` answers other processes' late joins."""

    def __init__(self, dsn: str, instance_id: str, max_buffer: int = DEFAULT_MAX_BUFFER) -> None:
        super().__init__(max_buffer)
        self.dsn = plain_dsn(dsn)
        self.instance_id = instance_id
        self.snapshot_provider: Callable[[str], list[runs_pb2.RunEvent] | None] | None = None
        self._conn: Any = None
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._inbox: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._waiting: dict[str, tuple[Subscription, asyncio.Future[None]]] = {}

    async def start(self) -> None:
        self._conn = await asyncpg.connect(self.dsn, timeout=10)
        await self._conn.execute(
            "CREATE TABLE IF NOT EXISTS pygentic_event_blobs "
            "(id text PRIMARY KEY, payload text NOT NULL, created_at double precision NOT NULL)"
        )
        await self._conn.add_listener(CHANNEL, self._on_notify)
        self._tasks = [
            asyncio.create_task(self._send_loop(), name="bus sender"),
            asyncio.create_task(self._receive_loop(), name="bus receiver"),
        ]
        log.info("shared event bus listening", extra={"channel": CHANNEL})

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None

    # ------------------------------------------------------------------ outgoing

    def publish(self, run_id: str, event: runs_pb2.RunEvent) -> None:
        super().publish(run_id, event)
        self._send({"k": "event", "r": run_id, "e": _encode(event)})

    def end(self, run_id: str) -> None:
        super().end(run_id)
        self._send({"k": "end", "r": run_id})

    def _send(self, message: dict[str, Any]) -> None:
        if self._conn is not None:
            message["o"] = self.instance_id
            self._outbox.put_nowait(message)

    async def _send_loop(self) -> None:
        last_cleanup = 0.0
        while True:
            message = await self._outbox.get()
            try:
                payload = json.dumps(message, separators=(",", ":"))
                if len(payload) > MAX_NOTIFY_BYTES:
                    blob = uuid.uuid4().hex
                    await self._conn.execute(
                        "INSERT INTO pygentic_event_blobs (id, payload, created_at) VALUES ($1, $2, $3)",
                        blob,
                        payload,
                        time.time(),
                    )
                    payload = json.dumps({"o": self.instance_id, "k": "blob", "b": blob})
                await self._conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
                if time.monotonic() - last_cleanup > 60:
                    last_cleanup = time.monotonic()
                    await self._conn.execute(
                        "DELETE FROM pygentic_event_blobs WHERE created_at < $1", time.time() - BLOB_TTL_S
                    )
            except Exception:
                log.exception("shared event bus: sending failed", extra={"kind": message.get("k")})

    # ------------------------------------------------------------------ incoming

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._inbox.put_nowait(payload)

    async def _receive_loop(self) -> None:
        while True:
            payload = await self._inbox.get()
            try:
                message = json.loads(payload)
                if message.get("o") == self.instance_id:
                    continue
                if message.get("k") == "blob":
                    stored = await self._conn.fetchval(
                        "SELECT payload FROM pygentic_event_blobs WHERE id = $1", message["b"]
                    )
                    if stored is None:
                        continue
                    message = json.loads(stored)
                self._dispatch(message)
            except Exception:
                log.exception("shared event bus: a notification could not be handled")

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind, run_id = message.get("k"), message.get("r", "")
        if kind == "event":
            super().publish(run_id, _decode(message["e"]))
        elif kind == "end":
            super().end(run_id)
        elif kind == "snapshot?" and self.snapshot_provider is not None:
            events = self.snapshot_provider(run_id)
            if events is not None:
                self._send(
                    {"k": "snapshot", "r": run_id, "t": message["t"], "e": [_encode(e) for e in events]}
                )
        elif kind == "snapshot":
            waiting = self._waiting.pop(message["t"], None)
            if waiting is not None:
                subscription, done = waiting
                subscription.buffer.clear()  # what came before the snapshot is in it
                for data in message["e"]:
                    subscription.push(_decode(data))
                if not done.done():
                    done.set_result(None)

    async def watch_remote(self, run_id: str) -> Subscription | None:
        """Follow a run another process executes: its snapshot, then its live events; None when no process
        answers (the run is not executing anywhere)."""
        if self._conn is None:
            return None
        subscription = self.subscribe(run_id)
        token = uuid.uuid4().hex
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[token] = (subscription, done)
        self._send({"k": "snapshot?", "r": run_id, "t": token})
        try:
            await asyncio.wait_for(done, SNAPSHOT_TIMEOUT_S)
        except TimeoutError:
            self._waiting.pop(token, None)
            self.unsubscribe(subscription)
            return None
        return subscription
