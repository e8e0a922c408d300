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
        try:
            yield encoder(first)
            while True:
                try:
                    async with asyncio.timeout(keepalive):  # not wait_for: it can lose a cancellation
                        item = await queue.get()
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if item is None:
                    if last is not None:
                        yield last
                    return
                if isinstance(item, BaseException):
                    if isinstance(item, ApiError):
                        _, payload = api_error_body(item)
                    else:
                        reference = error_reference()
                        log.error(
                            "unhandled error in an event stream",
                            exc_info=item,
                            extra={"error_id": reference, "error_type": type(item).__name__},
                        )
                        payload = error_body(internal_error_message(reference), 500)
                    yield on_error(payload["error"])
                    return
                yield encoder(item)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
