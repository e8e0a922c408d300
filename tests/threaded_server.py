"""A Pygentic server (gRPC + REST gateway) running in its own thread and event loop, for tests whose
clients are synchronous (the `openai` SDK, Node subprocesses)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from pygentic.app import Pygentic, ServeOptions
from pygentic.config import Settings


class ThreadedServer:
    """Start with ``start()`` (or ``with``); ``base_url`` is the gateway's OpenAI base URL."""

    def __init__(self, settings: Settings, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        defaults: dict[str, Any] = {
            "host": "127.0.0.1",
            "grpc_port": 0,
            "http_port": 0,
            "gateway": True,
            "shutdown_grace": 2,
        }
        defaults.update(options)
        self.app = Pygentic(settings, ServeOptions(**defaults))

    def call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def start(self) -> ThreadedServer:
        self.thread.start()
        self.call(self.app.start())
        return self

    def stop(self) -> None:
        self.call(self.app.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.app.http_port}/v1"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.app.grpc_port}"
