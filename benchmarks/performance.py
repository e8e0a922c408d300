"""The request- and run-path figures of the performance issue, each beside its floor, measured from outside.

    .venv/bin/python benchmarks/performance.py [--database postgresql://postgres@127.0.0.1/test]
                                               [--runs 1000] [--seconds 10]

Three processes: the tests' fake OpenAI-compatible upstream, `pygentic serve` (SQLite in a temporary
directory, or ``--database``) whose llm_service is the real OpenAI connector talking to that upstream,
and this client. Figures, each with its floor from the same run:

1. unary ``Messages/CreateMessage``, 50 in flight over ``--connections`` connections (8; with ``--workers``
   the kernel spreads connections, not calls, over the workers), requests/s; floor: a bare ``grpc.aio``
   server (another process) answering the same bytes through a generic handler, over as many connections;
2. server CPU per streamed run (one user message, the ``echo`` model's ~8 chunks): the server process's
   user+system time over ``--cpu-runs`` sequential streamed runs, divided by their number; beside it a
   bare ``grpc.aio`` server's CPU for streaming the same events (their sizes), one call after another;
3. ``--runs`` concurrent streamed runs against 500 ms upstream latency, over ``--connections``
   connections, the connector's ``max_concurrency`` set to ``--runs`` (the upstream takes them all at
   once): wall time and p99 time to first text delta; floor: the same number of streams sent straight to
   the upstream (one aiohttp session, the client library the server's connector uses); beside it the
   transport alone: a bare ``grpc.aio`` server streaming the same events (their sizes) after 500 ms;
4. time to first text delta through the REST gateway (SSE, read with aiohttp) and over gRPC, minus
   straight to the upstream with aiohttp (medians);
5. the server's peak RSS (VmHWM; the largest worker's with ``--workers``) after all of the above.

CPU figures add up the supervisor and its workers with ``--workers N``.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import grpc
import httpx
from google.protobuf import struct_pb2

from pygentic.proto.v1 import (
    assistants_pb2,
    assistants_pb2_grpc,
    messages_pb2,
    messages_pb2_grpc,
    resources_pb2,
    runs_pb2,
    runs_pb2_grpc,
    threads_pb2,
    threads_pb2_grpc,
)

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests"
PYGENTIC = str(Path(sys.executable).parent / "pygentic")
IN_FLIGHT = 50
TICKS = os.sysconf("SC_CLK_TCK")
FAILURES: list[str] = []  # why runs streamed no text (failed runs, broken streams)
EVENT_SIZES: list[int] = []  # the serialized sizes of one streamed run's events (the transport floor's)

UPSTREAM = f"""
import sys, time
sys.path.insert(0, {str(TESTS)!r})
from fake_upstream import FakeUpstream
server = FakeUpstream().start()
print(server.url, flush=True)
while True:
    time.sleep(3600)
"""

ECHO = """
import asyncio, sys
import grpc

async def echo(request, context):
    return request

async def replay(request, context):
    # A run's events as bytes of their sizes, after a delay (the upstream's latency): "0.5|300,120,...".
    delay, _, sizes = request.decode().partition("|")
    await asyncio.sleep(float(delay))
    for size in sizes.split(","):
        yield bytes(int(size))

async def main():
    server = grpc.aio.server()
    methods = {
        "Echo": grpc.unary_unary_rpc_method_handler(echo),
        "Replay": grpc.unary_stream_rpc_method_handler(replay),
    }
    handler = grpc.method_handlers_generic_handler("bench.Echo", methods)
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(port, flush=True)
    await server.wait_for_termination()

asyncio.run(main())
"""


@contextlib.contextmanager
def process(code: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A Python subprocess running ``code``; its first stdout line."""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        yield proc, proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def pygentic(
    database: str | None, upstream_url: str, tmp: Path, workers: int = 1, max_concurrency: int = 256
) -> Iterator[tuple[subprocess.Popen[str], str, int]]:
    """``pygentic serve`` on ``database`` (default: SQLite under ``tmp``), its llm_service the OpenAI
    connector to ``upstream_url`` with ``max_concurrency`` model calls at once (per worker)."""
    url = database or f"sqlite:///{tmp / 'perf.db'}"
    config = tmp / "connectors.toml"
    config.write_text(
        f'[connectors.database]\nurl = "{url}"\n'
        f'[connectors.llm_service]\ntype = "openai"\nbase_url = "{upstream_url}"\nmax_retries = 0\n'
        f"max_concurrency = {max_concurrency}\n"
        "[connectors.interpreter]\nenabled = false\n"
    )
    http_port = _free_port()
    proc = subprocess.Popen(
        [
            PYGENTIC,
            "serve",
            "--config",
            str(config),
            "--grpc-port",
            "0",
            "--http-port",
            str(http_port),
            "--workers",
            str(workers),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    grpc_port = None
    while grpc_port is None:
        line = proc.stderr.readline()
        if not line:
            raise SystemExit("the server did not start")
        if 'msg="grpc listening"' in line:
            grpc_port = int(line.rsplit(":", 1)[1].split()[0])
    for _ in range(workers - 1):  # every worker listening
        while 'msg="grpc listening"' not in proc.stderr.readline():
            pass
    for _ in range(300):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{http_port}/healthz").status_code == 200:
                break
        time.sleep(0.1)
    # Keep its stderr flowing (to nowhere), so the server never blocks on a full pipe.
    reader = subprocess.Popen(["cat"], stdin=proc.stderr, stdout=subprocess.DEVNULL)
    try:
        yield proc, f"127.0.0.1:{grpc_port}", http_port
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        reader.kill()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree(pid: int) -> list[int]:
    """``pid`` and its children (the workers of ``--workers``)."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [pid, *(int(p) for p in out.split())]


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for member in tree(pid):
        fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def peak_rss_mb(pid: int) -> float:
    """The largest peak RSS of the server's processes."""
    peaks = []
    for member in tree(pid):
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks)


def text(value: str) -> struct_pb2.Value:
    return struct_pb2.Value(string_value=value)


async def connections(
    stack: contextlib.AsyncExitStack, target: str, count: int, options: list[tuple[str, object]]
) -> list[grpc.aio.Channel]:
    """``count`` channels to ``target``, each a connection of its own (grpc shares one between channels
    with the same options otherwise), closed with ``stack``."""
    fresh = [*options, ("grpc.use_local_subchannel_pool", 1)]
    return [
        await stack.enter_async_context(grpc.aio.insecure_channel(target, options=fresh))
        for _ in range(count)
    ]


async def unary_rps(calls: list[tuple[object, object]], seconds: float) -> float:
    """Calls per second with ``IN_FLIGHT`` at once, spread over ``calls`` (a method on a connection of its
    own and its request)."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(i: int) -> None:
        nonlocal done
        call, request = calls[i % len(calls)]
        while time.perf_counter() < deadline:
            await call(request)  # type: ignore[operator]
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(IN_FLIGHT)))
    return done / (time.perf_counter() - started)


async def streamed_run(runs: runs_pb2_grpc.RunsStub, assistant_id: str, thread_id: str) -> float | None:
    """Time to the first text delta of a streamed run (None if it had none)."""
    started = time.perf_counter()
    first = None
    seen: list[str] = []
    sizes: list[int] = []
    try:
        async for event in runs.StreamRun(
            runs_pb2.CreateRunRequest(thread_id=thread_id, assistant_id=assistant_id)
        ):
            seen.append(event.event)
            sizes.append(event.ByteSize())
            if first is None and event.event == "thread.message.delta":
                first = time.perf_counter() - started
            if event.event == "thread.run.failed":
                FAILURES.append(event.run.last_error.message)
    except grpc.aio.AioRpcError as exc:
        FAILURES.append(f"{exc.code().name}: {exc.details()}")
    if first is None and not FAILURES:
        FAILURES.append("no text: " + " ".join(seen))
    if first is not None and not EVENT_SIZES:
        EVENT_SIZES.extend(sizes)
    return first


def replay_request(delay: float) -> bytes:
    """What asks the bare server to stream :data:`EVENT_SIZES` after ``delay`` seconds."""
    return f"{delay:g}|{','.join(map(str, EVENT_SIZES))}".encode()


async def replayed_stream(replay: grpc.aio.UnaryStreamMultiCallable, request: bytes) -> int:
    """The bare server's replay of one run's events (the transport floor); how many arrived."""
    return sum([1 async for _ in replay(request)])


async def direct_stream(client: aiohttp.ClientSession, url: str, model: str) -> float | None:
    """Time to the first text chunk of a chat completion streamed straight from the upstream (None if it
    had none): the floor. aiohttp reads it, as the server's OpenAI connector does; httpx, used for this
    floor before 2026-12-08, spent 1.1-1.2 ms to a first chunk that aiohttp read in 0.7 ms, and held 1,000
    streams at once 5x slower (7.1-7.5 s against 1.2-1.5 s), which made a slow floor look like headroom."""
    started = time.perf_counter()
    first = None
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "Hello there"}]}
    async with client.post(f"{url}/chat/completions", json=body) as response:
        async for line in response.content:
            if (
                first is None
                and line.startswith(b"data: ")
                and b'"content": "' in line
                and b'"content": ""' not in line
            ):
                first = time.perf_counter() - started
    return first


async def sse_run(
    client: aiohttp.ClientSession, base: str, assistant_id: str, thread_id: str
) -> float | None:
    """Time to the first ``thread.message.delta`` of a run streamed over the REST gateway (SSE), read by
    the same client as the floor."""
    started = time.perf_counter()
    first = None
    body = {"assistant_id": assistant_id, "stream": True}
    async with client.post(f"{base}/v1/threads/{thread_id}/runs", json=body) as response:
        async for line in response.content:
            if first is None and line.rstrip(b"\r\n") == b"event: thread.message.delta":
                first = time.perf_counter() - started
    return first


async def new_thread(threads: threads_pb2_grpc.ThreadsStub) -> threads_pb2.Thread:
    message = resources_pb2.MessageInput(role="user", content=text("Hello there"))
    return await threads.CreateThread(threads_pb2.CreateThreadRequest(messages=[message]))


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def measure(
    args: argparse.Namespace,
    server: subprocess.Popen[str],
    target: str,
    http_port: int,
    upstream: str,
    echo_port: int,
    echo_pid: int,
) -> None:
    options = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
    async with grpc.aio.insecure_channel(target, options=options) as channel:
        assistants = assistants_pb2_grpc.AssistantsStub(channel)
        threads = threads_pb2_grpc.ThreadsStub(channel)
        runs = runs_pb2_grpc.RunsStub(channel)

        # 1. unary CreateMessage vs a bare grpc.aio server, over --connections connections each (with
        # --workers the kernel spreads connections, not calls, over the workers)
        async with contextlib.AsyncExitStack() as stack:
            calls = []
            for own in await connections(stack, target, args.connections, options):
                thread = await threads_pb2_grpc.ThreadsStub(own).CreateThread(
                    threads_pb2.CreateThreadRequest()
                )
                request = messages_pb2.CreateMessageRequest(
                    thread_id=thread.id, role="user", content=text("Hello there")
                )
                calls.append((messages_pb2_grpc.MessagesStub(own).CreateMessage, request))
            rps = await unary_rps(calls, args.seconds)
            echo_channels = await connections(stack, f"127.0.0.1:{echo_port}", len(calls), options)
            echoes = [
                (own.unary_unary("/bench.Echo/Echo"), request.SerializeToString())
                for own, (_, request) in zip(echo_channels, calls, strict=True)
            ]
            floor_rps = await unary_rps(echoes, args.seconds)
        print(
            f"1. CreateMessage, {IN_FLIGHT} in flight over {args.connections} connections: {rps:,.0f} rps vs "
            f"bare grpc.aio {floor_rps:,.0f} rps = {rps / floor_rps:.2f}x (target >= 0.6x)"
        )

        # 2. server CPU per streamed run
        echo_assistant = await assistants.CreateAssistant(assistants_pb2.CreateAssistantRequest(model="echo"))
        for _ in range(5):  # warm up
            t = await new_thread(threads)
            await streamed_run(runs, echo_assistant.id, t.id)
        thread_ids = []
        for _ in range(args.cpu_runs):
            t = await new_thread(threads)
            thread_ids.append(t.id)
        before = cpu_seconds(server.pid)
        for thread_id in thread_ids:
            await streamed_run(runs, echo_assistant.id, thread_id)
        per_run = (cpu_seconds(server.pid) - before) / args.cpu_runs
        async with grpc.aio.insecure_channel(f"127.0.0.1:{echo_port}", options=options) as bare:
            replay = bare.unary_stream("/bench.Echo/Replay")
            request = replay_request(0)
            for _ in range(5):
                await replayed_stream(replay, request)
            before = cpu_seconds(echo_pid)
            for _ in range(args.cpu_runs):
                await replayed_stream(replay, request)
            bare_per_stream = (cpu_seconds(echo_pid) - before) / args.cpu_runs
        print(
            f"2. server CPU per streamed run (echo, ~8 chunks; {args.cpu_runs} runs): {ms(per_run)}"
            f" (target <= 5 ms); a bare grpc.aio server streaming the same {len(EVENT_SIZES)} events: "
            f"{ms(bare_per_stream)}"
        )

        # 4. time to first delta: gRPC and REST/SSE vs straight to the upstream
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as client:
            direct, over_grpc, over_sse = [], [], []
            for _ in range(args.samples):
                direct.append(await direct_stream(client, upstream, "echo") or 0.0)
                t = await new_thread(threads)
                over_grpc.append(await streamed_run(runs, echo_assistant.id, t.id) or 0.0)
                t = await new_thread(threads)
                over_sse.append(
                    await sse_run(client, f"http://127.0.0.1:{http_port}", echo_assistant.id, t.id) or 0.0
                )
            d, g, r = (statistics.median(x) for x in (direct, over_grpc, over_sse))
            print(
                f"4. time to first text delta (median of {args.samples}): direct {ms(d)}, "
                f"gRPC {ms(g)} (+{ms(g - d)}, target <= 3 ms), "
                f"REST/SSE {ms(r)} (+{ms(r - d)}, target <= 5 ms)"
            )

            # 3. many concurrent streamed runs against a slow upstream
            model = "latency:0.5"
            slow = await assistants.CreateAssistant(assistants_pb2.CreateAssistantRequest(model=model))
            prepared = []
            for _ in range(args.runs):
                t = await new_thread(threads)
                prepared.append(t.id)
            async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=600)
            ) as many:
                started = time.perf_counter()
                floor_firsts = await asyncio.gather(
                    *(direct_stream(many, upstream, model) for _ in range(args.runs))
                )
                floor_wall = time.perf_counter() - started
            async with contextlib.AsyncExitStack() as stack:  # spread over --connections, as above
                stubs = [
                    runs_pb2_grpc.RunsStub(own)
                    for own in await connections(stack, target, args.connections, options)
                ]
                EVENT_SIZES.clear()  # the transport floor replays one of these runs
                started = time.perf_counter()
                firsts = await asyncio.gather(
                    *(streamed_run(stubs[i % len(stubs)], slow.id, t) for i, t in enumerate(prepared))
                )
                wall = time.perf_counter() - started
            async with contextlib.AsyncExitStack() as stack:  # the same streams from a bare grpc.aio server
                replays = [
                    own.unary_stream("/bench.Echo/Replay")
                    for own in await connections(stack, f"127.0.0.1:{echo_port}", args.connections, options)
                ]
                request = replay_request(0.5)
                started = time.perf_counter()
                await asyncio.gather(
                    *(replayed_stream(replays[i % len(replays)], request) for i in range(args.runs))
                )
                transport_wall = time.perf_counter() - started
            got = [f for f in firsts if f is not None]
            floor_got = [f for f in floor_firsts if f is not None]
            late, floor_late = p99(got), p99(floor_got)
            print(
                f"3. {args.runs} concurrent streamed runs, 500 ms upstream latency: {wall:.1f} s vs "
                f"{floor_wall:.1f} s straight to the upstream = {wall / floor_wall:.1f}x (target <= 1.5x); "
                f"p99 first delta {ms(late)} vs {ms(floor_late)} = +{ms(late - floor_late)} "
                "(target <= 100 ms); "
                f"{len(got)}/{args.runs} runs streamed text"
            )
            print(
                f"   the transport alone: a bare grpc.aio server streaming the same {len(EVENT_SIZES)} "
                f"events ({sum(EVENT_SIZES)} bytes) to {args.runs} calls at once after 500 ms: "
                f"{transport_wall:.1f} s"
            )
            for reason in sorted(set(FAILURES))[:5]:
                print(f"   a run without text: {reason} (x{FAILURES.count(reason)})")
    print(f"5. server peak RSS: {peak_rss_mb(server.pid):.0f} MB (target <= 400 MB)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--database", default=None, help="a postgresql:// URL (default: SQLite in a temp dir)"
    )
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--cpu-runs", type=int, default=100)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--workers", type=int, default=1, help="pygentic serve --workers")
    parser.add_argument(
        "--connections", type=int, default=8, help="client connections the unary calls are spread over"
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        process(UPSTREAM) as (_, upstream),
        process(ECHO) as (echo, echo_port),
    ):
        # The upstream takes all --runs streams at once (the floor sends them so): max_concurrency is sized
        # to it, as the README says to (the default, 256, would queue the rest behind the first 256).
        with pygentic(args.database, upstream, Path(tmp), args.workers, args.runs) as (
            server,
            target,
            http_port,
        ):
            database = "SQLite" if args.database is None else args.database
            print(
                f"database: {database}; workers: {args.workers}; cores: {os.cpu_count()}; "
                f"max_concurrency: {args.runs}"
            )
            asyncio.run(measure(args, server, target, http_port, upstream, int(echo_port), echo.pid))


if __name__ == "__main__":
    main()
