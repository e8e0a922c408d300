"""``idempotency-key`` metadata on gRPC calls: a retry gets the first call's answer.

The request's bytes and method name are the request's identity. A unary call's response is kept as its
serialized bytes and sent as they are, so a replay is exactly the first answer. A streamed call that
creates or continues a run (``StreamRun``, ``StreamThreadAndRun``, ``StreamSubmitToolOutputs``) is kept as
that run, from its first event naming it: a retry follows the run's events from its current state (as
``WatchRun``), so it never starts a second run. Errors are not kept: after one, the key is free and a
retry runs again (see :mod:`pygentic.operations.idempotency`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from grpc import aio

from pygentic.operations.idempotency import IdempotencyStore, Replay, fingerprint
from pygentic.proto.v1 import runs_pb2

METADATA_KEY = "idempotency-key"
UnaryBehavior = Callable[[Any, aio.ServicerContext], Awaitable[Any]]


def idempotency_key(metadata: Any) -> str | None:
    """The call's ``idempotency-key`` metadata value, if any."""
    for key, value in metadata or ():
        if key == METADATA_KEY:
            return value if isinstance(value, str) else bytes(value).decode("latin-1")
    return None


REPLAYED = (("idempotent-replayed", "true"),)
Guard = Callable[[BaseException, aio.ServicerContext], Awaitable[None]]
Authenticate = Callable[[aio.ServicerContext], Awaitable[None]]


async def _begin(
    method: str,
    key: str,
    store: IdempotencyStore,
    raw: bytes,
    context: aio.ServicerContext,
    guard: Guard,
    authenticate: Authenticate | None,
) -> Replay | None:
    """The first attempt's answer to replay (marked in the trailing metadata), or None: this call goes
    ahead holding the key. The caller is authenticated first, as keys are per project."""
    try:
        if authenticate is not None:
            await authenticate(context)
        replay = await store.begin(key, fingerprint([method, raw]))
    except Exception as exc:
        await guard(exc, context)
        raise
    if replay is not None:
        context.set_trailing_metadata(REPLAYED)
    return replay


def idempotent_unary(
    method: str,
    key: str,
    store: IdempotencyStore,
    behavior: UnaryBehavior,
    serialize: Callable[[Any], bytes],
    guard: Guard,
    authenticate: Authenticate | None = None,
) -> UnaryBehavior:
    """``behavior`` (which decodes raw requests and aborts on errors) answering retries from the store;
    it returns serialized responses. ``guard`` turns an exception of the store into the call's status;
    ``authenticate`` finds the caller's project first (keys are per project)."""

    async def wrapper(raw: bytes, context: aio.ServicerContext) -> bytes:
        replay = await _begin(method, key, store, raw, context, guard, authenticate)
        if replay is not None:
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


StreamBehavior = Callable[[Any, aio.ServicerContext], AsyncIterator[Any]]
Watch = Callable[[str, str], AsyncIterator[Any]]


def run_of(event: Any) -> tuple[str, str] | None:
    """(thread id, run id) of the run a run event names (a run, or one of its steps), if it names one;
    None for other streams' messages (chat completion chunks, response events), which are not kept."""
    field = event.WhichOneof("data") if isinstance(event, runs_pb2.RunEvent) else None
    if field == "run":
        return event.run.thread_id, event.run.id
    if field == "run_step":
        return event.run_step.thread_id, event.run_step.run_id
    return None


def idempotent_stream(
    method: str,
    key: str,
    store: IdempotencyStore,
    behavior: StreamBehavior,
    serialize: Callable[[Any], bytes],
    guard: Guard,
    authenticate: Authenticate | None,
    watch: Watch,
) -> Callable[[bytes, aio.ServicerContext], AsyncIterator[bytes]]:
    """A run-event stream answering retries by following the first attempt's run."""

    async def wrapper(raw: bytes, context: aio.ServicerContext) -> AsyncIterator[bytes]:
        replay = await _begin(method, key, store, raw, context, guard, authenticate)
        if replay is not None:
            assert replay.run is not None  # a run stream's first answer is always kept as its run
            try:
                async for event in watch(*replay.run):
                    yield serialize(event)
            except Exception as exc:
                await guard(exc, context)
                raise
            return
        kept = False
        try:
            async for event in behavior(raw, context):
                if not kept and (run := run_of(event)) is not None:
                    await store.finish_run(key, *run)
                    kept = True
                yield serialize(event)
        except BaseException:
            if not kept:
                await store.release(key)
            raise
        if not kept:
            await store.release(key)

    return wrapper
