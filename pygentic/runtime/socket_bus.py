"""An event bus shared by the processes serving one SQLite file, over Unix domain sockets.

Processes sharing a SQLite file run on one machine. Each listens on a socket of its own in one directory
beside the file (:func:`bus_directory`); the directory's sockets are the peers. Unlike PostgreSQL's
broadcast channel, an event leaves its process only when another process follows its run: a watcher asks
every peer for the run (``snapshot?``); the one executing it answers with a snapshot on its connection to the
watcher and from then on sends that run's events on the same connection until the run's stream ends. One
connection per pair keeps them in order, so the snapshot plus what follows is exactly the run (the same late
join as :mod:`pygentic.runtime.pg_bus`). A run nobody watches from elsewhere costs nothing here.

Frames: a 4-byte big-endian length, then a kind byte and its body:

- ``E`` an event: 1 byte run id length, the run id, the serialized ``RunEvent``;
- ``N`` the run's stream ended: the run id;
- ``Q`` a snapshot request: JSON ``{"r": run id, "t": token, "o": the asker's name}``;
- ``S`` a snapshot: 2 bytes JSON length, JSON ``{"t": token}``, then events, each 4-byte length + bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import struct
import tempfile
import time
from pathlib import Path

from pygentic.proto.v1 import runs_pb2
from pygentic.runtime.bus import DEFAULT_MAX_BUFFER, SharedEventBus, Subscription
from pygentic.runtime.coalesce import DEFAULT_COALESCE_AFTER_S

log = logging.getLogger("pygentic.bus")

MAX_PEER_BACKLOG = 8 * 1024 * 1024  # bytes a watcher may leave unread before it is dropped
MAX_FRAME = 256 * 1024 * 1024
STALE_AFTER_S = 5.0  # a socket file refusing connections this long after it was made is a dead process's
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes
_LENGTH = struct.Struct(">I")


def bus_directory(database: str) -> Path:
    """Where the processes serving the SQLite file ``database`` put their sockets: ``.<name>.bus`` beside
    it, or, when a socket's path there would be too long for a Unix socket, a directory under the
    temporary directory named after the file's path."""
    resolved = Path(database).resolve()
    beside = resolved.parent / f".{resolved.name}.bus"
    if len(str(beside)) + 1 + 32 + len(".sock") <= MAX_SOCKET_PATH:
        return beside
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"pygentic-bus-{digest}"


def _frame(kind: bytes, body: bytes) -> bytes:
    return _LENGTH.pack(len(body) + 1) + kind + body


def _event_frame(run_id: str, event: runs_pb2.RunEvent) -> bytes:
    rid = run_id.encode()
    return _frame(b"E", bytes([len(rid)]) + rid + event.SerializeToString())


def _snapshot_frame(token: str, events: list[runs_pb2.RunEvent]) -> bytes:
    header = json.dumps({"t": token}).encode()
    parts = [struct.pack(">H", len(header)), header]
    for event in events:
        data = event.SerializeToString()
        parts += [_LENGTH.pack(len(data)), data]
    return _frame(b"S", b"".join(parts))


class _Peer:
    """This process's connection to another one (it only writes on it)."""

    def __init__(self, name: str, writer: asyncio.StreamWriter) -> None:
        self.name = name
        self.writer = writer

    @property
    def alive(self) -> bool:
        return not self.writer.is_closing()

    def send(self, frame: bytes) -> bool:
        """Queue ``frame``; False when the peer is gone or has left too much unread (it is then closed)."""
        if not self.alive:
            return False
        if self.writer.transport.get_write_buffer_size() > MAX_PEER_BACKLOG:
            log.warning(
                "shared event bus: a watching process fell behind, dropped", extra={"peer": self.name}
            )
            self.writer.close()
            return False
        self.writer.write(frame)
        return True


class SocketEventBus(SharedEventBus):
    """:class:`EventBus` across the processes serving one SQLite file (the late join of
    :class:`SharedEventBus`, over Unix sockets)."""

    def __init__(
        self,
        directory: Path,
        instance_id: str,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        coalesce_after: float = DEFAULT_COALESCE_AFTER_S,
    ) -> None:
        super().__init__(instance_id, max_buffer, coalesce_after)
        self.directory = directory
        self._server: asyncio.AbstractServer | None = None
        self._peers: dict[str, _Peer] = {}
        self._connecting: dict[str, asyncio.Task[_Peer | None]] = {}
        self._watchers: dict[str, set[_Peer]] = {}  # run id -> the peers following it from here
        self._readers: set[asyncio.Task[None]] = set()

    @property
    def socket_path(self) -> Path:
        return self.directory / f"{self.instance_id}.sock"

    async def start(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        self._server = await asyncio.start_unix_server(self._accept, path=str(self.socket_path))
        log.info("shared event bus listening", extra={"socket": str(self.socket_path)})

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(FileNotFoundError):
                self.socket_path.unlink()
            self._server = None
        for task in [*self._connecting.values(), *self._readers]:
            task.cancel()
        for peer in self._peers.values():
            peer.writer.close()
        self._peers.clear()
        self._watchers.clear()

    # ------------------------------------------------------------------ outgoing

    def publish(self, run_id: str, event: runs_pb2.RunEvent) -> None:
        super().publish(run_id, event)
        watchers = self._watchers.get(run_id)
        if watchers:
            frame = _event_frame(run_id, event)
            for peer in list(watchers):
                if not peer.send(frame):
                    watchers.discard(peer)

    def end(self, run_id: str) -> None:
        super().end(run_id)
        watchers = self._watchers.pop(run_id, None)
        if watchers:
            frame = _frame(b"N", run_id.encode())
            for peer in watchers:
                peer.send(frame)

    async def watch_remote(self, run_id: str) -> Subscription | None:
        """Follow a run another process executes: its snapshot, then its live events; None when no process
        answers (the run is not executing anywhere)."""
        if self._server is None:
            return None
        peers = await self._all_peers()
        if not peers:
            return None

        def ask(token: str) -> None:
            request = _frame(b"Q", json.dumps({"r": run_id, "t": token, "o": self.instance_id}).encode())
            for peer in peers:
                peer.send(request)

        return await self._join_late(run_id, ask)

    async def _all_peers(self) -> list[_Peer]:
        """A connection to every other process listening in the directory."""
        names = [p.stem for p in self.directory.glob("*.sock") if p.stem != self.instance_id]
        found = await asyncio.gather(*(self._peer(name) for name in names))
        return [peer for peer in found if peer is not None]

    async def _peer(self, name: str) -> _Peer | None:
        peer = self._peers.get(name)
        if peer is not None and peer.alive:
            return peer
        task = self._connecting.get(name)
        if task is None:
            task = asyncio.create_task(self._connect(name))
            self._connecting[name] = task
            task.add_done_callback(lambda _: self._connecting.pop(name, None))
        return await asyncio.shield(task)

    async def _connect(self, name: str) -> _Peer | None:
        path = self.directory / f"{name}.sock"
        try:
            _reader, writer = await asyncio.open_unix_connection(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            with contextlib.suppress(OSError):
                if time.time() - path.stat().st_mtime > STALE_AFTER_S:
                    path.unlink()  # a process that died without closing its socket
            return None
        except OSError as exc:
            log.warning("shared event bus: cannot reach a process", extra={"peer": name, "reason": str(exc)})
            return None
        peer = _Peer(name, writer)
        self._peers[name] = peer
        return peer

    # ------------------------------------------------------------------ incoming

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._readers.add(task)
        try:
            while True:
                length = _LENGTH.unpack(await reader.readexactly(4))[0]
                if not 0 < length <= MAX_FRAME:
                    raise ValueError(f"bad frame length {length}")
                frame = await reader.readexactly(length)
                try:
                    await self._dispatch(frame)
                except Exception:
                    log.exception("shared event bus: a message could not be handled")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the other process closed its connection (or died)
        except ValueError as exc:
            log.warning("shared event bus: connection dropped", extra={"reason": str(exc)})
        finally:
            writer.close()
            if task is not None:
                self._readers.discard(task)

    async def _dispatch(self, frame: bytes) -> None:
        kind, body = frame[:1], frame[1:]
        if kind == b"E":
            size = body[0]
            run_id = body[1 : 1 + size].decode()
            super().publish(run_id, runs_pb2.RunEvent.FromString(body[1 + size :]))
        elif kind == b"N":
            super().end(body.decode())
        elif kind == b"Q":
            await self._answer(json.loads(body))
        elif kind == b"S":
            self._take_snapshot(body)

    async def _answer(self, request: dict[str, str]) -> None:
        """A snapshot request: when the run executes here, the snapshot, and its events from then on."""
        run_id, asker = request["r"], request["o"]
        if not asker.isalnum():  # a process's name is its instance id, which names its socket file
            return
        if self.snapshot_provider is None or self.snapshot_provider(run_id) is None:
            return
        peer = await self._peer(asker)
        if peer is None:
            return
        # No await from here on: nothing of the run may be published between the snapshot and the
        # watcher's registration.
        events = self.snapshot_provider(run_id)
        if events is None:
            return  # it ended while connecting
        if peer.send(_snapshot_frame(request["t"], events)):
            self._watchers.setdefault(run_id, set()).add(peer)

    def _take_snapshot(self, body: bytes) -> None:
        (size,) = struct.unpack(">H", body[:2])
        token = json.loads(body[2 : 2 + size])["t"]
        events = []
        offset = 2 + size
        while offset < len(body):
            (length,) = _LENGTH.unpack(body[offset : offset + 4])
            events.append(runs_pb2.RunEvent.FromString(body[offset + 4 : offset + 4 + length]))
            offset += 4 + length
        self._deliver_snapshot(token, events)
