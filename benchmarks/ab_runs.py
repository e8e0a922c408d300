"""Two Pygentic checkouts measured in the same minutes: streamed runs alternating between them.

    git worktree add /tmp/before <commit>
    .venv/bin/python benchmarks/ab_runs.py --before /tmp/before [--runs 300]
        [--database-a postgresql://postgres@127.0.0.1/a --database-b postgresql://postgres@127.0.0.1/b]

This machine's speed drifts by half or more within an hour, so two benchmark runs minutes apart can
disagree by more than a change is worth. Here one fake upstream serves two ``pygentic serve``
processes, A (the ``--before`` checkout, imported through ``PYTHONPATH``, with this virtualenv) and B
(this checkout), and one client alternates sequential streamed runs (``echo``, ~8 chunks) between them,
A first on odd runs and B first on even ones, with a direct request to the upstream (the floor) beside
each pair. Printed for each: the server's CPU per run (user+system time while its runs stream), and the
median time to the first text delta over gRPC and over the REST gateway (SSE), with its margin over the
floor. Then (``--unary-rounds``, default 10) unary ``Messages/CreateMessage`` with 50 in flight, in
two-second bursts alternating between the servers: requests per second and server CPU per call.
``--before .`` (both the same code) shows the harness's own bias: none, within a few percent.

On PostgreSQL give each server its own database (``createdb``): sharing one, they would act as
replicas of each other. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

import aiohttp
import grpc
import performance as perf

from pygentic.proto.v1 import (
    assistants_pb2,
    assistants_pb2_grpc,
    messages_pb2,
    messages_pb2_grpc,
    runs_pb2_grpc,
    threads_pb2,
    threads_pb2_grpc,
)

BURST_S = 2.0


class Side:
    """One server under test: its process, stubs, assistant and prepared threads, and its figures."""

    def __init__(self, name: str, process: object, target: str, http_port: int) -> None:
        self.name = name
        self.process = process
        self.target = target
        self.base = f"http://127.0.0.1:{http_port}"
        self.cpu = 0.0
        self.grpc_firsts: list[float] = []
        self.sse_firsts: list[float] = []
        self.unary_calls = 0.0
        self.unary_seconds = 0.0
        self.unary_cpu = 0.0

    async def prepare(self, runs: int) -> None:
        self.channel = grpc.aio.insecure_channel(self.target)
        assistant = await assistants_pb2_grpc.AssistantsStub(self.channel).CreateAssistant(
            assistants_pb2.CreateAssistantRequest(model="echo")
        )
        self.assistant_id = assistant.id
        self.runs = runs_pb2_grpc.RunsStub(self.channel)
        threads = threads_pb2_grpc.ThreadsStub(self.channel)
        self.threads = [(await perf.new_thread(threads)).id for _ in range(2 * runs)]

    async def burst(self) -> None:
        """CreateMessage calls, 50 in flight, for BURST_S seconds; counted."""
        if not hasattr(self, "message_request"):
            thread = await threads_pb2_grpc.ThreadsStub(self.channel).CreateThread(
                threads_pb2.CreateThreadRequest()
            )
            self.messages = messages_pb2_grpc.MessagesStub(self.channel)
            self.message_request = messages_pb2.CreateMessageRequest(
                thread_id=thread.id, role="user", content=perf.text("Hello there")
            )
        pid = self.process.pid  # type: ignore[attr-defined]
        before = perf.cpu_seconds(pid)
        rps = await perf.unary_rps([(self.messages.CreateMessage, self.message_request)], BURST_S)
        self.unary_cpu += perf.cpu_seconds(pid) - before
        self.unary_calls += rps * BURST_S
        self.unary_seconds += BURST_S

    async def run(self, client: aiohttp.ClientSession, k: int, warm: bool) -> None:
        pid = self.process.pid  # type: ignore[attr-defined]
        before = perf.cpu_seconds(pid)
        first = await perf.streamed_run(self.runs, self.assistant_id, self.threads[2 * k])
        sse = await perf.sse_run(client, self.base, self.assistant_id, self.threads[2 * k + 1])
        if not warm:
            self.cpu += perf.cpu_seconds(pid) - before
            self.grpc_firsts.append(first or 0.0)
            self.sse_firsts.append(sse or 0.0)


async def measure(sides: list[Side], upstream: str, runs: int, warmup: int, unary_rounds: int) -> None:
    for side in sides:
        await side.prepare(runs + warmup)
    direct: list[float] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as client:
        for k in range(runs + warmup):
            warm = k < warmup
            floor = await perf.direct_stream(client, upstream, "echo")
            if not warm:
                direct.append(floor or 0.0)
            for side in sides if k % 2 else reversed(sides):
                await side.run(client, k, warm)
    d = statistics.median(direct)
    print(f"direct to the upstream (floor), median of {runs}: {perf.ms(d)}")
    for side in sides:
        g, s = statistics.median(side.grpc_firsts), statistics.median(side.sse_firsts)
        print(
            f"{side.name}: server CPU per streamed run {side.cpu / (2 * runs) * 1000:.2f} ms (a gRPC and an"
            f" SSE run each); first delta gRPC {perf.ms(g)} (+{perf.ms(g - d)}), REST/SSE {perf.ms(s)}"
            f" (+{perf.ms(s - d)})"
        )
    for k in range(unary_rounds):
        for side in sides if k % 2 else reversed(sides):
            await side.burst()
    for side in sides if unary_rounds else ():
        print(
            f"{side.name}: CreateMessage, {perf.IN_FLIGHT} in flight, {unary_rounds} bursts of {BURST_S:g} s:"
            f" {side.unary_calls / side.unary_seconds:,.0f} rps,"
            f" server CPU {side.unary_cpu / side.unary_calls * 1e6:.0f} us a call"
        )
    for side in sides:
        await side.channel.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", required=True, help="the checkout to compare with (A), e.g. a worktree")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--unary-rounds", type=int, default=10)
    parser.add_argument("--database-a", default=None, help="A's database URL (default: SQLite, temporary)")
    parser.add_argument("--database-b", default=None, help="B's database URL (default: SQLite, temporary)")
    args = parser.parse_args()
    before = str(Path(args.before).resolve())
    print(f"A: {before}; B: {perf.HERE.parent}; {os.cpu_count()} cores; {args.runs} runs each")
    with tempfile.TemporaryDirectory() as tmp, perf.process(perf.UPSTREAM) as (_, upstream):
        a_dir, b_dir = Path(tmp) / "a", Path(tmp) / "b"
        a_dir.mkdir()
        b_dir.mkdir()
        saved = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = before  # A's server imports the other checkout's package
        try:
            a_server = perf.pygentic(args.database_a, upstream, a_dir)
            a_proc, a_target, a_http = a_server.__enter__()
        finally:
            if saved is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = saved
        try:
            with perf.pygentic(args.database_b, upstream, b_dir) as (b_proc, b_target, b_http):
                sides = [
                    Side("A (before)", a_proc, a_target, a_http),
                    Side("B (this)", b_proc, b_target, b_http),
                ]
                asyncio.run(measure(sides, upstream, args.runs, args.warmup, args.unary_rounds))
        finally:
            a_server.__exit__(*sys.exc_info())


if __name__ == "__main__":
    main()
