"""One Pygentic service instance: storage, connectors, the run engine, the gRPC server and their lifecycle."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

from pygentic.config import Settings
from pygentic.connectors.factory import build_router
from pygentic.connectors.llm import LLMConnector
from pygentic.gateway.app import HttpServer, create_app
from pygentic.grpc.server import GrpcServer, build_server
from pygentic.operations.bundle import Operations
from pygentic.runtime.bus import EventBus
from pygentic.runtime.engine import RunEngine
from pygentic.storage import Database

log = logging.getLogger("pygentic.app")


class StartupError(Exception):
    """A required part could not start; the message names it and says why."""


@dataclass(frozen=True)
class ServeOptions:
    """Where to listen (``--host``, ``--grpc-port``, ``--http-port``, ``--no-gateway``)."""

    host: str = "127.0.0.1"
    grpc_port: int = 50051
    http_port: int = 8000
    gateway: bool = True
    shutdown_grace: float = 10.0
    keepalive: float = 15.0


class Pygentic:
    """Starts and stops everything one process serves."""

    def __init__(self, settings: Settings, options: ServeOptions) -> None:
        self.settings = settings
        self.options = options
        self.db = Database(settings.database)
        self.bus = EventBus()
        self.router = build_router(settings)
        self.engine = RunEngine(self.db, self.bus, self.router, settings.runs)
        self.operations = Operations.build(self.db, self.engine, settings.runs)
        self.grpc: GrpcServer | None = None
        self.http: HttpServer | None = None
        self.http_port: int | None = None
        self._connected: list[LLMConnector] = []
        self._ready = False

    @property
    def grpc_port(self) -> int:
        if self.grpc is None:
            raise RuntimeError("the server is not started")
        return self.grpc.port

    async def _connect(self) -> None:
        for connector in self.router.connectors():
            optional = bool(getattr(getattr(connector, "settings", None), "optional", False))
            try:
                await connector.connect()
            except Exception as exc:
                reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
                if optional:
                    log.warning(
                        "optional connector failed", extra={"connector": connector.name, "reason": reason}
                    )
                    continue
                raise StartupError(f"connector '{connector.name}' failed to connect: {reason}") from exc
            self._connected.append(connector)
            log.info("connector ready", extra={"connector": connector.name, "detail": connector.describe()})

    async def start(self) -> None:
        """Storage, connectors, run recovery, then the gRPC server; health says SERVING once all is ready."""
        await self.db.create_schema()
        await self._connect()
        await self.engine.recover()
        self.grpc = build_server(self.operations, self.options.host, self.options.grpc_port)
        await self.grpc.server.start()
        await self.grpc.set_serving(True)
        log.info("grpc listening", extra={"address": f"{self.options.host}:{self.grpc.port}"})
        if self.options.gateway:
            app = create_app(
                self.operations,
                {c.name: c for c in self._connected},
                keepalive=self.options.keepalive,
                ready=lambda: self._ready,
            )
            self.http = HttpServer(
                app, self.options.host, self.options.http_port, self.options.shutdown_grace
            )
            self.http_port = await self.http.start()
            log.info("http gateway listening", extra={"address": f"{self.options.host}:{self.http_port}"})
        self._ready = True

    async def stop(self) -> None:
        """Stop taking calls, let in-flight calls and runs finish (up to the grace period), then release
        connectors and storage."""
        self._ready = False
        if self.grpc is not None:
            await self.grpc.set_serving(False)
            await asyncio.gather(
                self.grpc.server.stop(self.options.shutdown_grace),
                self.http.stop() if self.http is not None else asyncio.sleep(0),
                self.engine.close(self.options.shutdown_grace),
            )
        else:
            await self.engine.close(0)
        for connector in reversed(self._connected):
            try:
                await connector.disconnect()
            except Exception:
                log.exception("connector failed to disconnect", extra={"connector": connector.name})
        self._connected.clear()
        await self.db.close()
        log.info("stopped")

    async def serve_forever(self) -> None:
        """Run until SIGINT or SIGTERM, then shut down gracefully."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        try:
            await stop.wait()
            log.info("shutting down")
        finally:
            await self.stop()
