"""Server interceptors: error translation and one structured log line per RPC."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc import aio

from pygentic.errors import ApiError, ErrorKind

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
        fields: dict[str, Any] = {
            "method": self.method,
            "status": code.name,
            "duration_ms": round((time.perf_counter() - self.start) * 1000, 2),
        }
        if self.detail:
            fields["error"] = self.detail
        level = logging.ERROR if code == grpc.StatusCode.INTERNAL else logging.INFO
        log.log(level, "rpc", extra=fields)


async def _abort_for(exc: BaseException, outcome: _Outcome, context: aio.ServicerContext) -> None:
    """Translate ``exc`` into a status on ``context`` (always raises)."""
    if isinstance(exc, ApiError):
        outcome.code = STATUS_FOR_KIND[exc.kind]
        outcome.detail = exc.message
        await context.abort(outcome.code, exc.message)
    log.exception("unhandled error in %s", outcome.method, exc_info=exc)
    outcome.code = grpc.StatusCode.INTERNAL
    outcome.detail = f"{type(exc).__name__}: {exc}"
    await context.abort(grpc.StatusCode.INTERNAL, f"Internal server error ({type(exc).__name__}).")


def _wrap_unary(method: str, behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def wrapper(request: Any, context: aio.ServicerContext) -> Any:
        outcome = _Outcome(method)
        try:
            return await behavior(request, context)
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
    method: str, behavior: Callable[..., AsyncIterator[Any]]
) -> Callable[..., AsyncIterator[Any]]:
    async def wrapper(request: Any, context: aio.ServicerContext) -> AsyncIterator[Any]:
        outcome = _Outcome(method)
        try:
            async for item in behavior(request, context):
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


class ErrorAndLogInterceptor(aio.ServerInterceptor):
    """Turns :class:`ApiError` into its status code, any other exception into INTERNAL (never UNKNOWN),
    and logs ``method``, ``status`` and ``duration_ms`` once per RPC."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary(method, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream(method, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler
