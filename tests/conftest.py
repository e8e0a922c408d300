"""Shared fixtures: a real Pygentic server on a free port, over SQLite or PostgreSQL, and its gRPC stubs."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import openai
import pytest
from fake_upstream import FakeUpstream
from threaded_server import ThreadedServer

from pygentic.app import Pygentic, ServeOptions
from pygentic.config import (
    DEFAULT_MAX_FILE_BYTES,
    DatabaseSettings,
    FilesSettings,
    LLMSettings,
    RunSettings,
    Settings,
)
from pygentic.proto.v1 import (
    assistants_pb2_grpc,
    files_pb2,
    files_pb2_grpc,
    messages_pb2_grpc,
    runs_pb2_grpc,
    threads_pb2_grpc,
)

# The suite starts hundreds of servers in one process, and what they leave behind grows the heap the
# collector walks: late in the run one full pass took over a second (measured with a gc.callbacks probe),
# and a pass stops every thread of the process at once - the server under test, the fake upstream and the
# client - so a test with a 1.5 s run deadline or a 2 s upstream timeout saw stalls that no deployment
# sees. So each test starts with what earlier tests left frozen out of the collector's sight, and every
# FULL_COLLECTION_EVERY tests, between two tests, one full pass frees what they left.
FULL_COLLECTION_EVERY = 20
_tests_started = 0


@pytest.fixture(autouse=True)
def _collector_sees_only_this_test() -> None:
    global _tests_started
    if _tests_started % FULL_COLLECTION_EVERY == 0:
        gc.unfreeze()
        gc.collect()
    _tests_started += 1
    gc.freeze()


PG_ADMIN_URL = os.environ.get("PYGENTIC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_unavailable_reason() -> str | None:
    """None when PostgreSQL answers at PG_ADMIN_URL, else why not."""
    import asyncpg

    async def probe() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({type(exc).__name__}: {exc})"
    return None


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (dropped at the end); skips when PG is absent."""
    reason = _pg_unavailable_reason()
    if reason:
        pytest.skip(reason)
    import asyncpg

    name = f"pygentic_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _reset_pg(url: str) -> None:
    import asyncpg

    async def reset() -> None:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()

    asyncio.run(reset())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: SQLite in a temporary file, and PostgreSQL (skipped with a reason when absent)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pygentic.db'}"
    url: str = request.getfixturevalue("pg_database")
    _reset_pg(url)
    return url


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeUpstream]:
    """The fake OpenAI-compatible upstream, over real HTTP on a free port."""
    server = FakeUpstream().start()
    try:
        yield server
    finally:
        server.stop()


UPSTREAM_TIMEOUT = 2.0
# The function tool of the client and chat tests (the fake "tools" model calls it with {"city": "Paris"}).
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def make_settings(database_url: str, upstream: FakeUpstream, **llm: object) -> Settings:
    """Settings whose llm_service is the real OpenAI connector talking to the fake upstream."""
    runs = llm.pop("runs", RunSettings())
    options: dict[str, object] = {
        "type": "openai",
        "base_url": upstream.url,
        "timeout": UPSTREAM_TIMEOUT,
        "max_retries": 0,
    }
    options.update(llm)
    return Settings(
        database=DatabaseSettings(url=database_url),
        llm_service=LLMSettings(**options),  # type: ignore[arg-type]
        runs=runs,  # type: ignore[arg-type]
    )


def with_files(settings: Settings, files_dir: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Settings:
    """``settings`` keeping uploaded files' bytes in ``files_dir``."""
    return dataclasses.replace(settings, files=FilesSettings(dir=str(files_dir), max_bytes=max_bytes))


@pytest.fixture
def settings(database_url: str, upstream: FakeUpstream) -> Settings:
    return make_settings(database_url, upstream)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Pygentic]:
    """A started Pygentic server on a free port (gRPC only), stopped at the end."""
    service = Pygentic(settings, ServeOptions(host="127.0.0.1", grpc_port=0, gateway=False, shutdown_grace=2))
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Pygentic]:
    async with running(settings) as service:
        yield service


@dataclass
class Stubs:
    """The generated grpc.aio stubs of every service, on one channel."""

    channel: grpc.aio.Channel
    assistants: assistants_pb2_grpc.AssistantsStub
    threads: threads_pb2_grpc.ThreadsStub
    messages: messages_pb2_grpc.MessagesStub
    runs: runs_pb2_grpc.RunsStub
    files: files_pb2_grpc.FilesStub

    async def upload(self, data: bytes, filename: str = "notes.txt", purpose: str = "assistants") -> str:
        """Upload ``data`` as a file in one chunk; its id."""

        async def parts() -> AsyncIterator[files_pb2.UploadFileRequest]:
            yield files_pb2.UploadFileRequest(
                header=files_pb2.FileUploadHeader(filename=filename, purpose=purpose)
            )
            yield files_pb2.UploadFileRequest(chunk=data)

        uploaded = await self.files.UploadFile(parts())
        return str(uploaded.id)


@asynccontextmanager
async def connect(app: Pygentic) -> AsyncIterator[Stubs]:
    """Stubs on a new channel to ``app``."""
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc_port}")
    try:
        yield Stubs(
            channel=channel,
            assistants=assistants_pb2_grpc.AssistantsStub(channel),
            threads=threads_pb2_grpc.ThreadsStub(channel),
            messages=messages_pb2_grpc.MessagesStub(channel),
            runs=runs_pb2_grpc.RunsStub(channel),
            files=files_pb2_grpc.FilesStub(channel),
        )
    finally:
        await channel.close()


@pytest.fixture
async def stubs(app: Pygentic) -> AsyncIterator[Stubs]:
    async with connect(app) as s:
        yield s


async def expect_status(awaitable: object, code: grpc.StatusCode, *fragments: str) -> grpc.aio.AioRpcError:
    """Await ``awaitable`` and assert it fails with ``code`` and a message containing every fragment."""
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await awaitable  # type: ignore[misc]
    error = info.value
    assert error.code() == code, f"expected {code.name}, got {error.code().name}: {error.details()}"
    for fragment in fragments:
        assert fragment in (error.details() or ""), f"{fragment!r} not in {error.details()!r}"
    return error


PYGENTIC = str(Path(sys.executable).parent / "pygentic")


@contextmanager
def serve_process(workdir: Path, config: str, *args: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """Run `pygentic serve` with ``config`` as a subprocess on a free port; yield it and its gRPC port.
    One process (``--workers 1``) unless ``args`` say otherwise: killing it is a crash of the server."""
    path = workdir / "connectors.toml"
    path.write_text(config)
    env = {**os.environ, "PYGENTIC_CONFIG": str(path)}
    workers = [] if "--workers" in args else ["--workers", "1"]
    proc = subprocess.Popen(
        [PYGENTIC, "serve", "--grpc-port", "0", "--no-gateway", *workers, *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=workdir,
    )
    port = None
    deadline = time.monotonic() + 60
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        match = re.search(r'msg="grpc listening" address=127\.0\.0\.1:(\d+)', line)
        if match:
            port = int(match.group(1))
            break
    if port is None:
        proc.kill()
        pytest.fail(f"server did not start: {proc.communicate()[1]}")
    try:
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@contextmanager
def sdk_client(settings: Settings) -> Iterator[openai.OpenAI]:
    """A server for ``settings`` in a thread and the openai SDK (strict response validation) talking to it."""
    with ThreadedServer(settings) as server, sdk_of(server) as sdk:
        yield sdk


def sdk_of(server: ThreadedServer) -> openai.OpenAI:
    """The openai SDK (strict response validation, no retries) talking to ``server``'s gateway."""
    return openai.OpenAI(
        base_url=server.base_url, api_key="x", max_retries=0, _strict_response_validation=True
    )
