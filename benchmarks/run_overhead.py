"""Run overhead: time to first token through a streamed Pygentic run vs. directly against the upstream,
and the wall time of many concurrent streamed runs against a slow upstream.

    .venv/bin/python benchmarks/run_overhead.py [--samples 50] [--concurrent 200] [--latency 0.5]
                                                [--database postgresql://postgres@127.0.0.1/test]

Both measurements use the tests' fake OpenAI-compatible upstream over real HTTP and a temporary SQLite
database; Pygentic runs in this process and is called over real gRPC. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc
import openai
from google.protobuf import struct_pb2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fake_upstream import FakeUpstream

from pygentic.app import Pygentic, ServeOptions
from pygentic.config import DatabaseSettings, LLMSettings, Settings
from pygentic.proto.v1 import (
    assistants_pb2,
    assistants_pb2_grpc,
    resources_pb2,
    runs_pb2,
    runs_pb2_grpc,
    threads_pb2,
    threads_pb2_grpc,
)


async def direct_ttft(url: str, model: str) -> float:
    client = openai.AsyncOpenAI(base_url=url, api_key="x")
    start = time.perf_counter()
    stream = await client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hello"}], stream=True
    )
    first = None
    async for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - start
    await client.close()
    assert first is not None
    return first


async def new_thread(threads: threads_pb2_grpc.ThreadsStub) -> str:
    message = resources_pb2.MessageInput(role="user", content=struct_pb2.Value(string_value="hello"))
    return (await threads.CreateThread(threads_pb2.CreateThreadRequest(messages=[message]))).id


async def pygentic_ttft(
    runs: runs_pb2_grpc.RunsStub, thread_id: str, assistant_id: str
) -> tuple[float, float]:
    """(time to the first message delta, time to the terminal event) of one streamed run."""
    start = time.perf_counter()
    first = None
    async for event in runs.StreamRun(
        runs_pb2.CreateRunRequest(thread_id=thread_id, assistant_id=assistant_id)
    ):
        if first is None and event.event == "thread.message.delta":
            first = time.perf_counter() - start
        if event.event == "thread.run.completed":
            end = time.perf_counter() - start
        elif event.event.startswith("thread.run.") and event.event.endswith(
            ("failed", "expired", "cancelled")
        ):
            raise RuntimeError(f"run ended {event.event}: {event.run.last_error.message}")
    assert first is not None
    return first, end


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--concurrent", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    upstream = FakeUpstream().start()
    tmp = Path(tempfile.mkdtemp())
    settings = Settings(
        database=DatabaseSettings(url=args.database or f"sqlite:///{tmp / 'bench.db'}"),
        llm_service=LLMSettings(type="openai", base_url=upstream.url, max_concurrency=args.concurrent + 16),
    )
    app = Pygentic(settings, ServeOptions(grpc_port=0, gateway=False))
    await app.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.grpc_port}")
    threads = threads_pb2_grpc.ThreadsStub(channel)
    runs = runs_pb2_grpc.RunsStub(channel)
    assistants = assistants_pb2_grpc.AssistantsStub(channel)
    try:
        echo = await assistants.CreateAssistant(assistants_pb2.CreateAssistantRequest(model="echo"))
        for _ in range(5):  # warm up both paths
            await direct_ttft(upstream.url, "echo")
            await pygentic_ttft(runs, await new_thread(threads), echo.id)
        direct = [await direct_ttft(upstream.url, "echo") for _ in range(args.samples)]
        through = []
        for _ in range(args.samples):
            thread_id = await new_thread(threads)
            through.append((await pygentic_ttft(runs, thread_id, echo.id))[0])
        d_ms, p_ms = statistics.median(direct) * 1000, statistics.median(through) * 1000
        print(f"time to first token, median of {args.samples}:")
        print(f"  directly against the upstream : {d_ms:8.2f} ms")
        print(f"  through a streamed Pygentic run: {p_ms:8.2f} ms  (create run + events over gRPC)")
        print(f"  overhead                       : {p_ms - d_ms:8.2f} ms")

        slow = await assistants.CreateAssistant(
            assistants_pb2.CreateAssistantRequest(model=f"latency:{args.latency}")
        )
        thread_ids = [await new_thread(threads) for _ in range(args.concurrent)]
        start = time.perf_counter()
        results = await asyncio.gather(*(pygentic_ttft(runs, t, slow.id) for t in thread_ids))
        wall = time.perf_counter() - start
        ends = sorted(r[1] for r in results)
        print(f"{args.concurrent} concurrent streamed runs, upstream latency {args.latency * 1000:.0f} ms:")
        print(
            f"  wall time {wall:.2f} s; per run median {statistics.median(ends):.2f} s, "
            f"max {ends[-1]:.2f} s; max upstream requests in flight {upstream.max_in_flight}"
        )
    finally:
        await channel.close()
        await app.stop()
        upstream.stop()


if __name__ == "__main__":
    asyncio.run(main())
