"""One Pygentic service instance: storage, operations, the gRPC server and their lifecycle."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

from pygentic.config import Settings
from pygentic.grpc.server import GrpcServer, build_server
from pygentic.operations.bundle import Operations
from pygentic.proto.v1 import runs_pb2_grpc
from pygentic.storage import Database

log = logging.getLogger("pygentic.app")


@dataclass(frozen=True)
class ServeOptions:
    """Where to listen (``--host``, ``--grpc-port``, ``--http-port``, ``--no-gateway``)."""

    host: str = "127.0.0.1"
    grpc_port: int = 50051
    http_port: int = 8000
    gateway: bool = True
    shutdown_grace: float = 10.0


class Pygentic:
    """Starts and stops everything one process serves."""

    def __init__(self, settings: Settings, options: ServeOptions) -> None:
        self.settings = settings
        self.options = options
        self.db = Database(settings.database)
        self.operations = Operations.build(self.db)
        self.grpc: GrpcServer | None = None

    @property
    def grpc_port(self) -> int:
        if self.grpc is None:
            raise RuntimeError("the server is not started")
        return self.grpc.port

    async def start(self) -> None:
        """Create the schema, then start the gRPC server; health reports SERVING once storage is ready."""
        await self.db.create_schema()
        self.grpc = build_server(
            self.operations, runs_pb2_grpc.RunsServicer(), self.options.host, self.options.grpc_port
        )
        await self.grpc.server.start()
        await self.grpc.set_serving(True)
        log.info("grpc listening", extra={"address": f"{self.options.host}:{self.grpc.port}"})
        if self.options.gateway:
            log.warning("the REST gateway is not available in this version; serving gRPC only")

    async def stop(self) -> None:
        """Stop taking calls, let in-flight calls finish (up to the grace period), then release storage."""
        if self.grpc is not None:
            await self.grpc.set_serving(False)
            await self.grpc.server.stop(self.options.shutdown_grace)
        await self.db.close()
        log.info("stopped")

    async def serve_forever(self) -> None:
        """Run until SIGINT or SIGTERM, then shut down gracefully."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        try:
            await stop.wait()
            log.info("shutting down")
        finally:
            await self.stop()
