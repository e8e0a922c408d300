"""``idempotency-key`` metadata on unary gRPC calls: a retry gets the first call's response message.

The request's bytes and method name are the request's identity; the response is kept as its serialized
bytes and sent as they are, so a replay is exactly the first answer. Errors are not kept: after one, the
key is free and a retry runs again (see :mod:`pygentic.operations.idempotency`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from grpc import aio

from pygentic.operations.idempotency import IdempotencyStore, fingerprint

METADATA_KEY = "idempotency-key"
UnaryBehavior = Callable[[Any, aio.ServicerContext], Awaitable[Any]]


def idempotency_key(metadata: Any) -> str | None:
    """The call's ``idempotency-key`` metadata value, if any."""
    for key, value in metadata or ():
        if key == METADATA_KEY:
            return value if isinstance(value, str) else bytes(value).decode("latin-1")
    return None


def idempotent_unary(
    method: str,
    key: str,
    store: IdempotencyStore,
    behavior: UnaryBehavior,
    serialize: Callable[[Any], bytes],
    guard: Callable[[BaseException, aio.ServicerContext], Awaitable[None]],
    authenticate: Callable[[aio.ServicerContext], Awaitable[None]] | None = None,
) -> UnaryBehavior:
    """``behavior`` (which decodes raw requests and aborts on errors) answering retries from the store;
    it returns serialized responses. ``guard`` turns an exception of the store into the call's status;
    ``authenticate`` finds the caller's project first (keys are per project)."""

    async def wrapper(raw: bytes, context: aio.ServicerContext) -> bytes:
        digest = fingerprint([method, raw])
        try:
            if authenticate is not None:
                await authenticate(context)
            replay = await store.begin(key, digest)
        except Exception as exc:
            await guard(exc, context)
            raise
        if replay is not None:
            context.set_trailing_metadata((("idempotent-replayed", "true"),))
            return replay.body
        try:
            response = await behavior(raw, context)
        except BaseException:
            await store.release(key)
            raise
        data = serialize(response)
        await store.finish(key, 0, "application/grpc", data)
        return data

    return wrapper
