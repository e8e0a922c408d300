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
import collections
import contextlib
import itertools
import json
import logging
import time
import uuid
from typing import Any

import asyncpg

from pygentic.proto.v1 import runs_pb2
from pygentic.runtime.bus import DEFAULT_MAX_BUFFER, SharedEventBus, Subscription
from pygentic.runtime.coalesce import DEFAULT_COALESCE_AFTER_S
from pygentic.storage.database import plain_dsn

log = logging.getLogger("pygentic.bus")

CHANNEL = "pygentic_run_events"
MAX_NOTIFY_BYTES = 7000
BLOB_TTL_S = 300.0
APPLICATION_NAME = "pygentic-bus"
RECONNECT_MIN_S = 0.1
RECONNECT_MAX_S = 5.0
MAX_OUTBOX = 100_000
MAX_BATCH = 200  # notifications sent by one statement


def _encode(event: runs_pb2.RunEvent) -> str:
    return base64.b64encode(event.SerializeToString()).decode()


def _decode(data: str) -> runs_pb2.RunEvent:
    return runs_pb2.RunEvent.FromString(base64.b64decode(data))


class PostgresEventBus(SharedEventBus):
    """:class:`EventBus` across processes. ``snapshot_provider`` answers other processes' late joins.

    The LISTEN connection is supervised: when it drops (PostgreSQL restarted, the backend was terminated,
    the network failed), the bus reconnects with backoff and listens again; events published meanwhile
    wait in a bounded outbox and go out once it is back. Notifications sent by other processes during the
    gap are lost to this one, which is why a remote watch also follows the database (:mod:`follow`).
    """

    def __init__(
        self,
        dsn: str,
        instance_id: str,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        coalesce_after: float = DEFAULT_COALESCE_AFTER_S,
    ) -> None:
        super().__init__(instance_id, max_buffer, coalesce_after)
        self.dsn = plain_dsn(dsn)
        self._conn: Any = None
        self._connected = asyncio.Event()
        self._lost = asyncio.Event()
        self.reconnects = 0
        self._outbox: collections.deque[dict[str, Any]] = collections.deque()
        self._sequence = itertools.count()  # makes every payload unique (see _send_loop)
        self._outbox_ready = asyncio.Event()
        self._inbox: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def connected(self) -> bool:
        return self._conn is not None

    async def start(self) -> None:
        await self._connect()
        self._tasks = [
            asyncio.create_task(self._send_loop(), name="bus sender"),
            asyncio.create_task(self._receive_loop(), name="bus receiver"),
            asyncio.create_task(self._supervise(), name="bus connection"),
        ]
        log.info("shared event bus listening", extra={"channel": CHANNEL})

    async def _connect(self) -> None:
        conn = await asyncpg.connect(
            self.dsn, timeout=10, server_settings={"application_name": APPLICATION_NAME}
        )
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS pygentic_event_blobs "
                "(id text PRIMARY KEY, payload text NOT NULL, created_at double precision NOT NULL)"
            )
            await conn.add_listener(CHANNEL, self._on_notify)
        except BaseException:
            conn.terminate()
            raise
        conn.add_termination_listener(self._on_terminated)
        self._conn = conn
        self._lost.clear()
        self._connected.set()

    def _on_terminated(self, conn: Any) -> None:
        if conn is self._conn:
            self._drop_connection()

    def _drop_connection(self) -> None:
        if self._conn is None:
            return
        with contextlib.suppress(Exception):
            self._conn.terminate()
        self._conn = None
        self._connected.clear()
        self._lost.set()
        log.warning("shared event bus: connection lost, reconnecting")

    async def _supervise(self) -> None:
        """Reconnect (backoff from 0.1 s up to 5 s) whenever the connection is lost."""
        while True:
            await self._lost.wait()
            delay = RECONNECT_MIN_S
            while True:
                try:
                    await self._connect()
                    break
                except Exception as exc:
                    log.warning(
                        "shared event bus: reconnect failed",
                        extra={"reason": type(exc).__name__, "retry_in_s": delay},
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RECONNECT_MAX_S)
            self.reconnects += 1
            log.info("shared event bus reconnected", extra={"pending": len(self._outbox)})

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                await conn.close()

    # ------------------------------------------------------------------ outgoing

    def publish(self, run_id: str, event: runs_pb2.RunEvent) -> None:
        super().publish(run_id, event)
        self._send({"k": "event", "r": run_id, "e": _encode(event)})

    def end(self, run_id: str) -> None:
        super().end(run_id)
        self._send({"k": "end", "r": run_id})

    def _send(self, message: dict[str, Any]) -> None:
        if not self._tasks:
            return  # not started (or closed): nobody else to tell
        message["o"] = self.instance_id
        message["n"] = next(self._sequence)
        if len(self._outbox) >= MAX_OUTBOX:
            self._outbox.popleft()
            log.warning("shared event bus: outbox full while disconnected, oldest event dropped")
        self._outbox.append(message)
        self._outbox_ready.set()

    async def _send_loop(self) -> None:
        last_cleanup = 0.0
        while True:
            if not self._outbox:
                self._outbox_ready.clear()
                await self._outbox_ready.wait()
                continue
            await self._connected.wait()
            conn = self._conn
            batch = list(itertools.islice(self._outbox, MAX_BATCH))
            try:
                payloads = [await self._payload(conn, message) for message in batch]
                # One statement for the batch, in order (WITH ORDINALITY ... ORDER BY: the notifications
                # are sent after the sort). Every payload carries its own sequence number, so PostgreSQL's
                # folding of identical notifications within one transaction never merges two events.
                await conn.execute(
                    "SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, i) ORDER BY i",
                    CHANNEL,
                    payloads,
                )
            except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError):
                if conn is self._conn:
                    self._drop_connection()
                continue  # the batch stays first in the outbox; sent once reconnected
            except Exception:
                log.exception("shared event bus: events could not be sent", extra={"kind": batch[0].get("k")})
            for message in batch:
                if self._outbox and self._outbox[0] is message:
                    self._outbox.popleft()
            if time.monotonic() - last_cleanup > 60:
                last_cleanup = time.monotonic()
                with contextlib.suppress(Exception):
                    await conn.execute(
                        "DELETE FROM pygentic_event_blobs WHERE created_at < $1", time.time() - BLOB_TTL_S
                    )

    async def _payload(self, conn: Any, message: dict[str, Any]) -> str:
        """The notification for ``message``: its JSON, or a reference to it in the blob table when too
        large for a notification."""
        payload = json.dumps(message, separators=(",", ":"))
        if len(payload) <= MAX_NOTIFY_BYTES:
            return payload
        blob = uuid.uuid4().hex
        await conn.execute(
            "INSERT INTO pygentic_event_blobs (id, payload, created_at) VALUES ($1, $2, $3)",
            blob,
            payload,
            time.time(),
        )
        return json.dumps({"o": self.instance_id, "k": "blob", "b": blob, "n": message["n"]})

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
                    await self._connected.wait()
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
            self._deliver_snapshot(message["t"], (_decode(data) for data in message["e"]))

    async def watch_remote(self, run_id: str) -> Subscription | None:
        """Follow a run another process executes: its snapshot, then its live events; None when no process
        answers (the run is not executing anywhere)."""
        if self._conn is None:
            return None  # disconnected: the caller follows the database until the bus is back
        return await self._join_late(
            run_id, lambda token: self._send({"k": "snapshot?", "r": run_id, "t": token})
        )
