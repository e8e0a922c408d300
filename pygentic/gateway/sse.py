"""Run events as server-sent events, with keep-alive comments while the run is quiet."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse

from pygentic.errors import ApiError, error_reference, internal_error_message
from pygentic.gateway.errors import api_error_body, error_body
from pygentic.gateway.wire import sse_event, to_openai
from pygentic.proto.v1 import runs_pb2

log = logging.getLogger("pygentic.http")
DELTA_FIELDS = ("message_delta", "run_step_delta")
QUEUE_SIZE = 256


def encode(event: runs_pb2.RunEvent) -> bytes:
    field = event.WhichOneof("data")
    if field is None:
        return sse_event(event.event, "[DONE]")
    return sse_event(event.event, to_openai(getattr(event, field), delta=field in DELTA_FIELDS))


async def sse_response(events: AsyncIterator[runs_pb2.RunEvent], keepalive: float) -> StreamingResponse:
    """Stream ``events``. The first event is awaited here, so a request that fails validation gets a plain
    JSON error response; later failures become an ``error`` event. A client that disconnects only stops
    its own stream, never the run."""
    first = await anext(events)

    async def body() -> AsyncIterator[bytes]:
        queue: asyncio.Queue[runs_pb2.RunEvent | BaseException | None] = asyncio.Queue(QUEUE_SIZE)

        async def pump() -> None:
            try:
                async for event in events:
                    await queue.put(event)
                await queue.put(None)
            except Exception as exc:
                await queue.put(exc)

        task = asyncio.create_task(pump())
        try:
            yield encode(first)
            while True:
                try:
                    async with asyncio.timeout(keepalive):  # not wait_for: it can lose a cancellation
                        item = await queue.get()
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if item is None:
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
                    yield sse_event("error", payload["error"])
                    return
                yield encode(item)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
