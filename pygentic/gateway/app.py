"""The gateway's ASGI application and its server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from starlette.exceptions import HTTPException as StarletteHTTPException

from pygentic import __version__
from pygentic.config import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_REQUEST_BYTES, TLSSettings
from pygentic.errors import ApiError
from pygentic.gateway import (
    assistants,
    chat,
    conversations,
    files,
    messages,
    openapi,
    responses,
    runs,
    threads,
    vector_stores,
)
from pygentic.gateway.auth import AuthMiddleware
from pygentic.gateway.docs import add_docs
from pygentic.gateway.errors import handle_api_error, handle_http_error, handle_validation_error
from pygentic.gateway.hosts import HostPolicy
from pygentic.gateway.idempotency import IdempotencyMiddleware, stream_replayer
from pygentic.gateway.middleware import GatewayMiddleware
from pygentic.metrics import exposition
from pygentic.operations.api_keys import KeyStore
from pygentic.operations.bundle import Operations
from pygentic.proto.v1 import runs_pb2

log = logging.getLogger("pygentic.http")
DEFAULT_KEEPALIVE_S = 15.0
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def create_app(
    operations: Operations,
    connectors: Mapping[str, Any] | None = None,
    *,
    keepalive: float = DEFAULT_KEEPALIVE_S,
    max_body_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ready: Callable[[], bool] = lambda: True,
    routers: Sequence[APIRouter] = (),
    allowed_hosts: Sequence[str] = ("*",),
    cors_origins: Sequence[str] = (),
    keys: KeyStore | None = None,
    metrics: bool = True,
) -> FastAPI:
    """The OpenAI-compatible REST API over ``operations``, plus the plugin directory's ``routers``. Each
    connector is reachable in route handlers as ``request.state.<connector name>``; request bodies above
    ``max_body_bytes`` are refused with 413."""
    app = FastAPI(
        docs_url=None,
        redoc_url=None,
        title="Pygentic",
        version=__version__,
        description="OpenAI Assistants API v2 compatible REST gateway. Point an `openai` SDK's `base_url` at "
        "`http://HOST:PORT/v1`.",
    )
    add_docs(app)
    app.state.operations = operations
    app.state.keepalive = keepalive
    app.add_middleware(  # inside GatewayMiddleware: bodies are within their limit, the Host checked
        IdempotencyMiddleware,
        store=operations.idempotency,
        replay_stream=stream_replayer(
            lambda thread_id, run_id: operations.runs.watch(
                runs_pb2.WatchRunRequest(thread_id=thread_id, run_id=run_id)
            ),
            keepalive,
        ),
        unbuffered=("/v1/files",),
    )
    app.add_middleware(AuthMiddleware, keys=keys)  # outside idempotency: keys are per project
    app.add_middleware(
        GatewayMiddleware,
        max_body_bytes=max_body_bytes,
        state=dict(connectors or {}),
        # An upload's multipart body: the file, plus room for its form fields and boundaries.
        streamed={"/v1/files": max_file_bytes + MULTIPART_OVERHEAD_BYTES},
        hosts=HostPolicy(allowed_hosts),
    )
    if cors_origins:  # added last, so it runs first: preflight requests are answered before anything else
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["*"],
        )

    if metrics:

        @app.get("/metrics", include_in_schema=False)
        async def prometheus() -> Response:
            body, media_type = exposition()
            return Response(body, media_type=media_type)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        if ready():
            return Response('{"status":"ok"}', media_type="application/json")
        return Response('{"status":"starting"}', status_code=503, media_type="application/json")

    app.add_exception_handler(ApiError, handle_api_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    # Runs first: POST /v1/threads/runs must not be taken for POST /v1/threads/{thread_id}.
    for module in (runs, assistants, messages, threads, files, vector_stores, chat, responses, conversations):
        app.include_router(module.router)
    for router in routers:
        app.include_router(router)
    openapi.install(app)
    return app


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside Pygentic's own event loop: Pygentic owns the signal handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    """Serves an ASGI app on ``host:port`` (port 0 picks a free one) in the running event loop."""

    def __init__(
        self,
        app: FastAPI,
        host: str,
        port: int,
        grace: float,
        fd: int | None = None,
        tls: TLSSettings | None = None,
    ) -> None:
        """``fd``: an already listening socket to serve on (one the workers share) instead of binding.
        ``tls``: serve HTTPS (requiring client certificates signed by ``tls.client_ca`` when set)."""
        self.address = f"{host}:{port}" if fd is None else f"fd {fd}"
        secure: dict[str, Any] = {}
        if tls is not None:
            secure = {"ssl_certfile": tls.cert, "ssl_keyfile": tls.key}
            if tls.client_ca:
                secure.update(ssl_ca_certs=tls.client_ca, ssl_cert_reqs=ssl.CERT_REQUIRED)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=max(1, int(grace)),
            **secure,
        )
        self.server = _EmbeddedServer(config)
        # (socket(fileno=...) reads the family and type from the descriptor itself)
        self.sockets = [socket.socket(fileno=fd)] if fd is not None else None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> int:
        self.task = asyncio.create_task(self.server.serve(sockets=self.sockets))
        while not self.server.started:
            if self.task.done():
                # uvicorn logs the reason and exits when it cannot bind.
                raise OSError(f"cannot start the HTTP gateway on {self.address}")
            await asyncio.sleep(0.01)
        sockets = self.server.servers[0].sockets
        port: int = sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        if self.task is None:
            return
        self.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
