"""Run events as server-sent events, with keep-alive comments while the run is quiet."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi.responses import StreamingResponse

from pygentic.errors import ApiError, error_reference, internal_error_message
from pygentic.gateway.errors import api_error_body, error_body
from pygentic.gateway.wire import sse_data, sse_event, to_openai
from pygentic.proto.v1 import runs_pb2

log = logging.getLogger("pygentic.http")
DELTA_FIELDS = ("message_delta", "run_step_delta")
QUEUE_SIZE = 256
MAX_EVENTS_PER_WRITE = 64  # events already waiting that one write may carry


def encode(event: runs_pb2.RunEvent) -> bytes:
    field = event.WhichOneof("data")
    if field is None:
        return sse_event(event.event, "[DONE]")
    return sse_event(event.event, to_openai(getattr(event, field), delta=field in DELTA_FIELDS))


def run_error(error: dict[str, Any]) -> bytes:
    """A failure in a run's stream: an ``error`` event."""
    return sse_event("error", error)


def chunk_error(error: dict[str, Any]) -> bytes:
    """A failure in a chat completion's stream: ``data: {"error": {...}}``, which the SDKs raise."""
    return sse_data({"error": error})


def _error_payload(exc: BaseException) -> dict[str, Any]:
    """The ``error`` object of a stream that failed with ``exc`` (an unexpected failure is logged with a
    reference the client also gets)."""
    if isinstance(exc, ApiError):
        _, payload = api_error_body(exc)
    else:
        reference = error_reference()
        log.error(
            "unhandled error in an event stream",
            exc_info=exc,
            extra={"error_id": reference, "error_type": type(exc).__name__},
        )
        payload = error_body(internal_error_message(reference), 500)
    error: dict[str, Any] = payload["error"]
    return error


async def sse_response(
    events: AsyncIterator[Any],
    keepalive: float,
    *,
    encoder: Callable[[Any], bytes] = encode,
    on_error: Callable[[dict[str, Any]], bytes] = run_error,
    last: bytes | None = None,
) -> StreamingResponse:
    """Stream ``events`` (run events by default; ``encoder``/``on_error``/``last`` for other streams). The
    first event is awaited here, so a request that fails validation gets a plain JSON error response; later
    failures become an error event. A client that disconnects only stops its own stream, never the run."""
    first = await anext(events)

    async def body() -> AsyncIterator[bytes]:
        queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_SIZE)

        async def pump() -> None:
            try:
                async for event in events:
                    await queue.put(event)
                await queue.put(None)
            except Exception as exc:
                await queue.put(exc)

        task = asyncio.create_task(pump())

        def chunk_from(item: Any) -> tuple[bytes, bool]:
            """``item`` and the events already waiting behind it as one chunk (one ASGI send, one socket
            write: the same bytes, none later than one at a time); whether the stream ends with it."""
            parts: list[bytes] = []
            while True:
                if item is None:
                    return b"".join([*parts, last or b""]), True
                if isinstance(item, BaseException):
                    return b"".join([*parts, on_error(_error_payload(item))]), True
                parts.append(encoder(item))
                if queue.empty() or len(parts) >= MAX_EVENTS_PER_WRITE:
                    return b"".join(parts), False
                item = queue.get_nowait()

        try:
            await asyncio.sleep(0)  # the pump takes what is already there (a new run: queued, in_progress)
            item: Any = first
            while True:
                chunk, ended = chunk_from(item)
                if chunk:
                    yield chunk
                if ended:
                    return
                while True:
                    try:
                        async with asyncio.timeout(keepalive):  # not wait_for: it can lose a cancellation
                            item = await queue.get()
                        break
                    except TimeoutError:
                        yield b": keep-alive\n\n"
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
