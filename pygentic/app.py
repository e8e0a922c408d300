"""One Pygentic service instance: storage, connectors, the run engine, the gRPC server and their lifecycle."""

from __future__ import annotations

import asyncio
import logging
import signal
import uuid
from dataclasses import dataclass

from pygentic.config import Settings
from pygentic.connectors.embeddings import build_embeddings
from pygentic.connectors.plugins import PluginError
from pygentic.connectors.registry import ConnectorRegistry, ConnectorStartupError
from pygentic.gateway.app import HttpServer, create_app
from pygentic.gateway.hosts import default_allowed_hosts, is_loopback
from pygentic.gc_policy import freeze_startup_heap
from pygentic.grpc.server import GrpcServer, build_server
from pygentic.ingestion.index import VectorIndex
from pygentic.interpreter.service import Interpreter
from pygentic.operations.bundle import Operations
from pygentic.operations.files import FileOperations
from pygentic.runtime.bus import EventBus
from pygentic.runtime.engine import RunEngine
from pygentic.runtime.images import ImageParts
from pygentic.runtime.pg_bus import PostgresEventBus
from pygentic.runtime.socket_bus import SocketEventBus, bus_directory
from pygentic.runtime.tools import Toolbox
from pygentic.runtime.tools.code_interpreter import CodeInterpreter
from pygentic.runtime.tools.file_search import FileSearch
from pygentic.runtime.tools.serverless import ServerlessFunctions
from pygentic.storage import Database
from pygentic.storage.blobs import blob_store
from pygentic.storage.s3_blobs import BlobStoreUnavailable
from pygentic.telemetry import Tracing

log = logging.getLogger("pygentic.app")


class UnprotectedBind(Exception):
    """A non-loopback address would be served with no API key (an open server)."""


StartupError = (ConnectorStartupError, PluginError, BlobStoreUnavailable, UnprotectedBind)


@dataclass(frozen=True)
class ServeOptions:
    """Where to listen (``--host``, ``--grpc-port``, ``--http-port``, ``--no-gateway``)."""

    host: str = "127.0.0.1"
    grpc_port: int = 50051
    http_port: int = 8000
    gateway: bool = True
    shutdown_grace: float = 10.0
    keepalive: float = 15.0
    # Set by the worker supervisor (``--workers``): share the gRPC port; serve HTTP on an inherited socket.
    reuse_port: bool = False
    http_fd: int | None = None
    # Serve a non-loopback address although no API key exists (anyone who reaches it has full access).
    allow_unauthenticated: bool = False


class Pygentic:
    """Starts and stops everything one process serves."""

    def __init__(self, settings: Settings, options: ServeOptions) -> None:
        self.settings = settings
        self.options = options
        self.db = Database(settings.database)
        self.instance_id = uuid.uuid4().hex
        self.bus = self._event_bus()
        self.connectors = ConnectorRegistry(settings, self.db)
        self.embeddings = build_embeddings(settings.embeddings)  # loaded on first use
        self.vector_index = VectorIndex(self.db, settings=settings.embeddings)
        self.files = FileOperations(
            self.db, blob_store(settings.files, settings.database.url), settings.files
        )
        self.interpreter = Interpreter(settings.interpreter, settings.database.url)
        self.engine = RunEngine(
            self.db,
            self.bus,
            self.connectors.router,
            settings.runs,
            toolbox=Toolbox(
                [
                    ServerlessFunctions(self.connectors.tool_runners),
                    FileSearch(self.db, self.embeddings, self.vector_index),
                    CodeInterpreter(self.db, self.interpreter, self.files),
                ]
            ),
            instance_id=self.instance_id,
            images=ImageParts(self.files, settings.files.image_base_url),
        )
        self.operations = Operations.build(
            self.db,
            self.engine,
            settings,
            self.embeddings,
            self.vector_index,
            files=self.files,
            thread_cleanups=[self.interpreter.remove_workspace],
        )
        self.tracing = Tracing(settings.telemetry)
        self.grpc: GrpcServer | None = None
        self.http: HttpServer | None = None
        self.http_port: int | None = None
        self._ready = False

    async def _refuse_open_public_bind(self) -> None:
        host = self.options.host
        if (
            is_loopback(host)
            or self.options.allow_unauthenticated
            or not await self.operations.keys.is_open()
        ):
            return
        raise UnprotectedBind(
            f"refusing to serve {host} with no API key: anyone who can reach it could read, change and "
            "delete every object and spend the upstream's key. Create a key (`pygentic keys create "
            "--project default`), bind 127.0.0.1, or pass --allow-unauthenticated "
            "($PYGENTIC_ALLOW_UNAUTHENTICATED=1) to serve it open anyway."
        )

    @property
    def grpc_port(self) -> int:
        if self.grpc is None:
            raise RuntimeError("the server is not started")
        return self.grpc.port

    def _event_bus(self) -> EventBus:
        """Run events shared by the processes on this database: PostgreSQL's LISTEN/NOTIFY, or sockets
        beside a SQLite file (its processes are on one machine); an in-memory database has one process."""
        coalesce_after = self.settings.runs.coalesce_after
        if not self.db.is_sqlite:
            return PostgresEventBus(
                self.settings.database.url, self.instance_id, coalesce_after=coalesce_after
            )
        if self.db.sqlite_path is not None:
            directory = bus_directory(self.db.sqlite_path)
            return SocketEventBus(directory, self.instance_id, coalesce_after=coalesce_after)
        return EventBus(coalesce_after=coalesce_after)

    async def start(self) -> None:
        """Connectors (the database first), run recovery, then the servers; health says SERVING once all is
        ready."""
        await self.connectors.connect_all()
        await self.bus.start()
        await self.operations.start()
        if self.settings.interpreter.enabled:
            await self.interpreter.start()
        await self.engine.start()
        await self._refuse_open_public_bind()
        self.grpc = build_server(
            self.operations,
            self.options.host,
            self.options.grpc_port,
            max_request_bytes=self.settings.server.max_request_bytes,
            reuse_port=self.options.reuse_port,
            tls=self.settings.server.tls,
        )
        await self.grpc.server.start()
        await self.grpc.set_serving(True)
        log.info(
            "grpc listening",
            extra={
                "address": f"{self.options.host}:{self.grpc.port}",
                "tls": self.settings.server.tls is not None,
            },
        )
        if self.options.gateway:
            app = create_app(
                self.operations,
                self.connectors.named(),
                keepalive=self.options.keepalive,
                max_body_bytes=self.settings.server.max_request_bytes,
                max_file_bytes=self.settings.files.max_bytes,
                ready=lambda: self._ready,
                routers=self.connectors.routers(),
                allowed_hosts=self.settings.server.allowed_hosts or default_allowed_hosts(self.options.host),
                cors_origins=self.settings.server.cors_origins,
                keys=self.operations.keys,
                metrics=self.settings.server.metrics,
            )
            self.http = HttpServer(
                app,
                self.options.host,
                self.options.http_port,
                self.options.shutdown_grace,
                fd=self.options.http_fd,
                tls=self.settings.server.tls,
            )
            self.http_port = await self.http.start()
            scheme = "https" if self.settings.server.tls else "http"
            log.info(
                "http gateway listening",
                extra={"address": f"{self.options.host}:{self.http_port}", "scheme": scheme},
            )
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
        await self.operations.close()
        self.interpreter.close()
        await self.embeddings.disconnect()
        await self.bus.close()
        await self.connectors.disconnect_all()
        await asyncio.to_thread(self.tracing.close)  # the last spans go out (a blocking HTTP export)
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
        freeze_startup_heap()
        try:
            await stop.wait()
            log.info("shutting down")
        finally:
            await self.stop()
