"""Server interceptors: error translation and one structured log line per RPC."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc import aio

from pygentic.errors import ApiError, ErrorKind, error_reference, internal_error_message
from pygentic.grpc.idempotency import Watch, idempotency_key, idempotent_stream, idempotent_unary
from pygentic.metrics import count_request
from pygentic.operations.api_keys import KeyStore, act_as
from pygentic.operations.idempotency import IdempotencyStore
from pygentic.operations.json_values import check_request_values
from pygentic.telemetry import SERVER, extract, tracer, tracing

log = logging.getLogger("pygentic.rpc")

STATUS_FOR_KIND: dict[ErrorKind, grpc.StatusCode] = {
    ErrorKind.INVALID_ARGUMENT: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorKind.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    ErrorKind.FAILED_PRECONDITION: grpc.StatusCode.FAILED_PRECONDITION,
    ErrorKind.ALREADY_EXISTS: grpc.StatusCode.ALREADY_EXISTS,
    ErrorKind.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    ErrorKind.PERMISSION_DENIED: grpc.StatusCode.PERMISSION_DENIED,
    ErrorKind.RESOURCE_EXHAUSTED: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ErrorKind.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    ErrorKind.INTERNAL: grpc.StatusCode.INTERNAL,
}


class _Outcome:
    """The status an RPC ended with, filled in by the wrapper and logged once."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.start = time.perf_counter()
        self.code = grpc.StatusCode.OK
        self.detail: str | None = None

    def log(self, context: aio.ServicerContext) -> None:
        code = self.code
        if code == grpc.StatusCode.OK:
            code = context.code() or grpc.StatusCode.OK
            if not isinstance(code, grpc.StatusCode):
                code = grpc.StatusCode.OK
        seconds = time.perf_counter() - self.start
        count_request("grpc", self.method, code.name, seconds)
        fields: dict[str, Any] = {
            "method": self.method,
            "status": code.name,
            "duration_ms": round(seconds * 1000, 2),
        }
        if self.detail:
            fields["error"] = self.detail
        level = logging.ERROR if code == grpc.StatusCode.INTERNAL else logging.INFO
        log.log(level, "rpc", extra=fields)


async def _abort_for(exc: BaseException, outcome: _Outcome, context: aio.ServicerContext) -> None:
    """Translate ``exc`` into a status on ``context`` (always raises). An unexpected exception is logged
    with a reference the client also gets; its details (SQL, paths, values) stay in the log."""
    if isinstance(exc, ApiError):
        outcome.code = STATUS_FOR_KIND[exc.kind]
        outcome.detail = exc.message
        if exc.retry_after is not None:
            context.set_trailing_metadata((("retry-after", str(max(1, math.ceil(exc.retry_after)))),))
        await context.abort(outcome.code, exc.message)
    reference = error_reference()
    log.error(
        "unhandled error",
        exc_info=exc,
        extra={"method": outcome.method, "error_id": reference, "error_type": type(exc).__name__},
    )
    outcome.code = grpc.StatusCode.INTERNAL
    outcome.detail = f"{type(exc).__name__} ({reference})"
    await context.abort(grpc.StatusCode.INTERNAL, internal_error_message(reference))


def _decode(raw: Any, deserialize: Callable[[bytes], Any] | None) -> Any:
    """The request message from its bytes; undecodable bytes (corrupt, or nested deeper than protobuf
    allows) are INVALID_ARGUMENT instead of grpc's UNKNOWN. Then every JSON value in it is checked."""
    if deserialize is None:
        return raw
    try:
        request = deserialize(raw)
    except Exception as exc:  # DecodeError, RecursionError, ...
        raise ApiError(
            ErrorKind.INVALID_ARGUMENT,
            "The request message could not be decoded: its bytes are not a valid message of this method's "
            "request type, or it is nested too deeply.",
        ) from exc
    check_request_values(request)
    return request


PUBLIC_SERVICES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
Authenticator = Callable[[aio.ServicerContext], Awaitable[None]]


def authenticator(keys: KeyStore | None, method: str) -> Authenticator | None:
    """What sets an RPC's project from its ``authorization`` metadata (None: no check for ``method``:
    health checking and reflection are public)."""
    if keys is None or method.startswith(PUBLIC_SERVICES):
        return None

    async def authenticate(context: aio.ServicerContext) -> None:
        metadata = dict(context.invocation_metadata() or ())
        act_as(await keys.caller(metadata.get("authorization")))  # this RPC's task only

    return authenticate


def _span(method: str, context: aio.ServicerContext) -> Any:
    """The SERVER span of one call, continuing the caller's trace (``traceparent`` metadata). While
    tracing is off and the caller sent no trace context, there is nothing to record or pass on."""
    carrier = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
    if not tracing() and "traceparent" not in carrier:
        return contextlib.nullcontext()
    service, _, name = method.strip("/").partition("/")
    return tracer().start_as_current_span(
        method.strip("/"),
        context=extract(carrier),
        kind=SERVER,
        attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": name},
    )


def _wrap_unary(
    method: str,
    behavior: Callable[..., Awaitable[Any]],
    deserialize: Callable[[bytes], Any] | None,
    authenticate: Authenticator | None = None,
) -> Callable[..., Awaitable[Any]]:
    async def wrapper(raw: Any, context: aio.ServicerContext) -> Any:
        outcome = _Outcome(method)
        try:
            with _span(method, context):
                if authenticate is not None:
                    await authenticate(context)
                return await behavior(_decode(raw, deserialize), context)
        except aio.AbortError:
            raise
        except asyncio.CancelledError:
            outcome.code = grpc.StatusCode.CANCELLED
            raise
        except Exception as exc:
            await _abort_for(exc, outcome, context)
        finally:
            outcome.log(context)

    return wrapper


def _wrap_stream(
    method: str,
    behavior: Callable[..., AsyncIterator[Any]],
    deserialize: Callable[[bytes], Any] | None,
    authenticate: Authenticator | None = None,
) -> Callable[..., AsyncIterator[Any]]:
    async def wrapper(raw: Any, context: aio.ServicerContext) -> AsyncIterator[Any]:
        outcome = _Outcome(method)
        try:
            with _span(method, context):
                if authenticate is not None:
                    await authenticate(context)
                async for item in behavior(_decode(raw, deserialize), context):
                    yield item
        except aio.AbortError:
            raise
        except asyncio.CancelledError:
            outcome.code = grpc.StatusCode.CANCELLED
            raise
        except Exception as exc:
            await _abort_for(exc, outcome, context)
        finally:
            outcome.log(context)

    return wrapper


def _wrap_client_stream(
    method: str,
    behavior: Callable[..., Awaitable[Any]],
    deserialize: Callable[[bytes], Any] | None,
    authenticate: Authenticator | None = None,
) -> Callable[..., Awaitable[Any]]:
    async def wrapper(raw_iterator: AsyncIterator[Any], context: aio.ServicerContext) -> Any:
        outcome = _Outcome(method)

        async def requests() -> AsyncIterator[Any]:
            async for raw in raw_iterator:
                yield _decode(raw, deserialize)

        try:
            if authenticate is not None:
                await authenticate(context)
            return await behavior(requests(), context)
        except aio.AbortError:
            raise
        except asyncio.CancelledError:
            outcome.code = grpc.StatusCode.CANCELLED
            raise
        except Exception as exc:
            await _abort_for(exc, outcome, context)
        finally:
            outcome.log(context)

    return wrapper


def _guard(method: str) -> Callable[[BaseException, aio.ServicerContext], Awaitable[None]]:
    """What turns an exception raised outside the wrapped behaviour into the call's status, logged."""

    async def guard(exc: BaseException, context: aio.ServicerContext) -> None:
        outcome = _Outcome(method)
        try:
            await _abort_for(exc, outcome, context)
        finally:
            outcome.log(context)

    return guard


class ErrorAndLogInterceptor(aio.ServerInterceptor):
    """Decodes and checks requests (INVALID_ARGUMENT when they are not valid), turns :class:`ApiError`
    into its status code and any other exception into INTERNAL (never UNKNOWN), and logs ``method``,
    ``status`` and ``duration_ms`` once per RPC. With ``idempotency``, a unary call carrying
    ``idempotency-key`` metadata is answered from its first successful attempt; with ``keys``, every call
    but health checks and reflection runs acting for its caller's project (UNAUTHENTICATED without an
    active key when keys are required)."""

    def __init__(
        self,
        idempotency: IdempotencyStore | None = None,
        keys: KeyStore | None = None,
        watch: Watch | None = None,
    ) -> None:
        self.idempotency = idempotency
        self.keys = keys
        self.watch = watch  # (thread_id, run_id) -> the run's events: replays of keyed run streams
        # The wrapped handler of each method called without an idempotency key: the same for every call.
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method = handler_call_details.method
        metadata = handler_call_details.invocation_metadata
        keyed = self.idempotency is not None and idempotency_key(metadata) is not None
        if not keyed:
            cached = self._handlers.get(method)
            if cached is not None:
                return cached
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        wrapped = self._wrap(method, handler, handler_call_details)
        if not keyed:
            self._handlers[method] = wrapped
        return wrapped

    def _wrap(
        self, method: str, handler: grpc.RpcMethodHandler, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler:
        authenticate = authenticator(self.keys, method)
        # The wrappers decode the request themselves (grpc gets no deserializer), so that a request that
        # cannot be decoded is answered INVALID_ARGUMENT.
        if handler.unary_unary is not None:
            wrapped = _wrap_unary(method, handler.unary_unary, handler.request_deserializer, authenticate)
            key = idempotency_key(handler_call_details.invocation_metadata)
            if key is not None and self.idempotency is not None:
                return grpc.unary_unary_rpc_method_handler(  # it serializes (and replays) the response
                    idempotent_unary(
                        method,
                        key,
                        self.idempotency,
                        wrapped,
                        handler.response_serializer,
                        _guard(method),
                        authenticate,
                    ),
                )
            return grpc.unary_unary_rpc_method_handler(
                wrapped, response_serializer=handler.response_serializer
            )
        if handler.unary_stream is not None:
            streamed = _wrap_stream(method, handler.unary_stream, handler.request_deserializer, authenticate)
            key = idempotency_key(handler_call_details.invocation_metadata)
            if key is not None and self.idempotency is not None and self.watch is not None:
                return grpc.unary_stream_rpc_method_handler(  # it serializes (and replays) the events
                    idempotent_stream(
                        method,
                        key,
                        self.idempotency,
                        streamed,
                        handler.response_serializer,
                        _guard(method),
                        authenticate,
                        self.watch,
                    ),
                )
            return grpc.unary_stream_rpc_method_handler(
                streamed, response_serializer=handler.response_serializer
            )
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                _wrap_client_stream(method, handler.stream_unary, handler.request_deserializer, authenticate),
                response_serializer=handler.response_serializer,
            )
        return handler
