"""The gateway's outermost layer (plain ASGI): the Host check, request size limit, connectors on
``request.state``, one log line per request, and the last word on unexpected errors.

An exception a route lets escape is answered here with a 500 in the OpenAI error envelope and a reference
to the log line; it never reaches the server, so the client's keep-alive connection survives it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pygentic.errors import ApiError, error_reference, internal_error_message
from pygentic.gateway.errors import api_error_body, error_body, retry_headers
from pygentic.gateway.hosts import HostPolicy
from pygentic.metrics import count_request
from pygentic.telemetry import SERVER, extract, tracer

log = logging.getLogger("pygentic.http")


class BodyTooLarge(Exception):
    """A streamed request body grew past its limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body over {limit} bytes")
        self.limit = limit


class GatewayMiddleware:
    """Wraps the FastAPI app. ``max_body_bytes`` bounds request bodies: a declared ``Content-Length`` above
    it is refused before anything is read, a chunked body as soon as it grows past it (413).

    ``streamed`` maps paths whose bodies are large uploads to their own limit: those bodies are counted as
    the route reads them, never buffered here.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        state: Mapping[str, Any] | None = None,
        streamed: Mapping[str, int] | None = None,
        hosts: HostPolicy | None = None,
    ) -> None:
        self.app = app
        self.hosts = hosts
        self.max_body_bytes = max_body_bytes
        self.state = dict(state or {})
        self.streamed = dict(streamed or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {}).update(self.state)
        start = time.perf_counter()
        status = {"code": 0}

        async def send_and_record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        carrier = {
            bytes(k).decode("latin-1"): bytes(v).decode("latin-1") for k, v in scope.get("headers", ())
        }
        span = tracer().start_span(
            f"{scope.get('method')} {scope.get('path')}", context=extract(carrier), kind=SERVER
        )
        scope_token = context_api.attach(trace.set_span_in_context(span))
        try:
            if self.hosts is not None and not self.hosts.allows(header_value(scope, b"host")):
                await self._foreign_host(send_and_record, header_value(scope, b"host"))
                return
            receive = await self._limited(scope, receive, send_and_record)
            if receive is not None:
                await self.app(scope, receive, send_and_record)
        except BodyTooLarge as exc:
            if status["code"] == 0:
                await self._too_large(send_and_record, exc.limit)
        except Exception as exc:
            reference = error_reference()
            log.error(
                "unhandled error",
                exc_info=exc,
                extra={"path": scope.get("path"), "error_id": reference, "error_type": type(exc).__name__},
            )
            if status["code"] == 0:  # nothing sent yet: answer properly; else the stream just ends
                await _send_json(send_and_record, 500, error_body(internal_error_message(reference), 500))
        finally:
            seconds = time.perf_counter() - start
            route = scope.get("route")
            # The route's template (/v1/threads/{thread_id}), never the path itself: ids would make a label
            # value per object.
            operation = f"{scope.get('method')} {getattr(route, 'path', 'unmatched')}"
            span.update_name(operation)
            span.set_attribute("http.response.status_code", status["code"])
            span.end()
            context_api.detach(scope_token)
            count_request("http", operation, str(status["code"]), seconds)
            log.info(
                "http",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status["code"],
                    "duration_ms": round(seconds * 1000, 2),
                },
            )

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """``receive`` for a body within the limit; None once a 413 has been sent."""
        limit = self.streamed.get(scope.get("path", ""), self.max_body_bytes)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._too_large(send, limit)
            return None
        if scope.get("path") in self.streamed:
            return _counting(receive, limit)
        if declared is not None:
            return receive
        if scope.get("method") in ("GET", "HEAD", "DELETE", "OPTIONS"):
            return receive
        # No Content-Length (chunked): read the body here, up to the limit, and replay it to the app.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(send, limit)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return replaying(b"".join(chunks), receive)

    async def _foreign_host(self, send: Send, host: str | None) -> None:
        shown = repr(host[:100]) if host else "(none)"
        message = (
            f"The Host header {shown} is not one this server answers; "
            "add the name to [server] allowed_hosts in connectors.toml."
        )
        await _send_json(send, 400, error_body(message, 400, code="host_not_allowed"))

    async def _too_large(self, send: Send, limit: int) -> None:
        message = f"The request body is larger than the limit of {limit} bytes."
        await _send_json(send, 413, error_body(message, 413, code="request_too_large"))


def _counting(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises :class:`BodyTooLarge` once more than ``limit`` bytes came in."""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        size += len(message.get("body", b""))
        if size > limit:
            raise BodyTooLarge(limit)
        return message

    return counted


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app ``body`` (already read) first, then what ``receive`` brings."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def header_value(scope: Scope, wanted: bytes) -> str | None:
    """The value of request header ``wanted`` (lowercase bytes), if present."""
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return bytes(value).decode("latin-1")
    return None


def _content_length(scope: Scope) -> int | None:
    value = header_value(scope, b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


async def send_response(
    send: Send,
    status: int,
    body: bytes,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> None:
    """A whole response, sent from plain ASGI code (a middleware answering before the app)."""
    raw = [(b"content-type", content_type.encode("latin-1")), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, exc: ApiError, headers: dict[str, str] | None = None) -> None:
    """``exc`` in the OpenAI error envelope, with its status and ``Retry-After`` when it has one."""
    status, payload = api_error_body(exc)
    await send_response(
        send, status, json.dumps(payload).encode(), headers={**retry_headers(exc), **(headers or {})}
    )


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    await send_response(send, status, json.dumps(body).encode())
