"""``Idempotency-Key`` on the gateway's POSTs (plain ASGI, inside the size limit and the Host check).

The first successful answer to a keyed request is kept (:mod:`pygentic.operations.idempotency`) and sent
again, byte for byte with ``Idempotent-Replayed: true``, to every retry with the same key and the same
request (method, path, query and body). A streamed answer (``stream: true``) is kept as the run it is
about: a retry follows that run's events from its current state (as ``WatchRun``), so it never starts a
second run. Uploads (``POST /v1/files``) are compared by their size and form boundary, not their bytes,
which are never buffered.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pygentic.errors import ApiError
from pygentic.gateway.middleware import header_value, replaying, send_error, send_response
from pygentic.operations.idempotency import IdempotencyStore, Replay, fingerprint

log = logging.getLogger("pygentic.http")

HEADER = b"idempotency-key"
REPLAYED = {"Idempotent-Replayed": "true"}
MAX_KEPT_BYTES = 4 * 1024 * 1024  # a larger answer is not kept (the key is freed instead)
StreamReplayer = Callable[[str, str], Awaitable[ASGIApp]]


class IdempotencyMiddleware:
    """Answers retried POSTs from the kept first answer; ``replay_stream(thread_id, run_id)`` builds the
    response that follows a run, for retried streams."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: IdempotencyStore | None,
        replay_stream: StreamReplayer,
        unbuffered: Collection[str] = (),
    ) -> None:
        self.app = app
        self.store = store
        self.replay_stream = replay_stream
        self.unbuffered = set(unbuffered)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = (
            header_value(scope, HEADER) if scope["type"] == "http" and scope.get("method") == "POST" else None
        )
        if key is None or self.store is None:
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path in self.unbuffered:
            body = f"{header_value(scope, b'content-length')}|{header_value(scope, b'content-type')}".encode()
            replayed_receive = receive
        else:
            body, replayed_receive = await _read_body(receive)
        digest = fingerprint(["POST", path, scope.get("query_string", b""), _canonical(body)])
        try:
            replay = await self.store.begin(key, digest)
        except ApiError as exc:
            await send_error(send, exc)
            return
        if replay is not None:
            await self._replay(replay, scope, receive, send)
            return
        capture = _Capture(send)
        try:
            await self.app(scope, replayed_receive, capture.send)
        except BaseException:
            await self.store.release(key)
            raise
        if capture.run is not None:
            await self.store.finish_run(key, *capture.run)
        elif capture.keepable():
            await self.store.finish(key, capture.status, capture.content_type, b"".join(capture.body))
        else:
            await self.store.release(key)

    async def _replay(self, replay: Replay, scope: Scope, receive: Receive, send: Send) -> None:
        log.info("idempotent replay", extra={"path": scope.get("path"), "status": replay.status})
        if replay.run is not None:
            try:
                response = await self.replay_stream(*replay.run)
            except ApiError as exc:
                await send_error(send, exc, REPLAYED)
                return
            await response(scope, receive, send)
            return
        await send_response(send, replay.status, replay.body, replay.content_type, REPLAYED)


class _Capture:
    """Passes a response on while keeping what a retry needs: a JSON answer's status and bytes, or the
    run a stream of run events is about (from its first event naming a run)."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 0
        self.content_type = ""
        self.body: list[bytes] = []
        self.size = 0
        self.streaming = False
        self.run: tuple[str, str] | None = None  # (thread id, run id)
        self._pending = b""

    def keepable(self) -> bool:
        return 200 <= self.status < 300 and not self.streaming and self.size <= MAX_KEPT_BYTES

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            headers = {bytes(k).lower(): bytes(v).decode("latin-1") for k, v in message.get("headers", ())}
            self.content_type = headers.get(b"content-type", "")
            self.streaming = self.content_type.startswith("text/event-stream")
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            if self.streaming:
                if self.run is None:
                    self._find_run(chunk)
            elif self.size <= MAX_KEPT_BYTES:
                self.body.append(chunk)
                self.size += len(chunk)
        await self._send(message)

    def _find_run(self, chunk: bytes) -> None:
        self._pending += chunk
        *events, self._pending = self._pending.split(b"\n\n")
        for event in events:
            for line in event.split(b"\n"):
                if not line.startswith(b"data: {"):
                    continue
                data = json.loads(line[6:])
                if data.get("object") == "thread.run":
                    self.run = (data["thread_id"], data["id"])
                elif data.get("object") == "thread.run.step":
                    self.run = (data["thread_id"], data["run_id"])
                if self.run is not None:
                    self._pending = b""
                    return
        if len(self._pending) > MAX_KEPT_BYTES:
            self._pending = b""


def _canonical(body: bytes) -> bytes:
    """A JSON body as the same request whatever its spacing, key order or ``null`` (= not given)
    members; any other body as it is."""
    try:
        value = json.loads(body)
    except ValueError:
        return body
    if isinstance(value, dict):
        value = {k: v for k, v in value.items() if v is not None}
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a ``receive`` that hands it to the app again."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    return body, replaying(body, receive)


def stream_replayer(watch: Callable[[str, str], Any], keepalive: float) -> StreamReplayer:
    """The response that follows run ``run_id`` (its events from the current state), for a retried
    stream; ``watch(thread_id, run_id)`` gives the run's event iterator."""
    from pygentic.gateway.sse import sse_response

    async def replay(thread_id: str, run_id: str) -> ASGIApp:
        return await sse_response(watch(thread_id, run_id), keepalive)

    return replay
