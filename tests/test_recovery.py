"""Restart recovery: a server killed mid-run leaves no run active forever; a live one keeps its runs."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import grpc
from conftest import connect, make_settings, running, serve_process
from fake_upstream import FakeUpstream
from google.protobuf import struct_pb2
from runhelpers import assistant_and_thread, wait_for_status

from pygentic.proto.v1 import (
    assistants_pb2,
    assistants_pb2_grpc,
    messages_pb2,
    messages_pb2_grpc,
    runs_pb2,
    runs_pb2_grpc,
    threads_pb2,
    threads_pb2_grpc,
)
from pygentic.proto.v1 import resources_pb2 as res


def _config(tmp_path: Path, upstream: FakeUpstream) -> str:
    return (
        f'[connectors.database]\nurl = "sqlite:///{tmp_path / "recovery.db"}"\n'
        f'[connectors.llm_service]\ntype = "openai"\nbase_url = "{upstream.url}"\n'
        "max_concurrency = 1\ntimeout = 5\n"
        "[runs]\nlease = 1\n"
    )


async def _start_runs(port: int) -> tuple[str, str, str, str]:
    """A slow run in progress on one thread and a queued run (waiting for the connector) on another."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        assistants = assistants_pb2_grpc.AssistantsStub(channel)
        threads = threads_pb2_grpc.ThreadsStub(channel)
        runs = runs_pb2_grpc.RunsStub(channel)
        slow = await assistants.CreateAssistant(
            assistants_pb2.CreateAssistantRequest(model="words:1000:0.05")
        )
        quick = await assistants.CreateAssistant(assistants_pb2.CreateAssistantRequest(model="echo"))
        message = res.MessageInput(role="user", content=struct_pb2.Value(string_value="after restart"))
        t1 = await threads.CreateThread(threads_pb2.CreateThreadRequest(messages=[message]))
        t2 = await threads.CreateThread(threads_pb2.CreateThreadRequest(messages=[message]))
        stream = runs.StreamRun(runs_pb2.CreateRunRequest(thread_id=t1.id, assistant_id=slow.id))
        active = None
        deltas = 0
        async for event in stream:
            if event.event == "thread.run.created":
                active = event.run.id
            deltas += event.event == "thread.message.delta"
            if deltas == 30:  # 1.5 s of text: the partial message has been saved at least once
                break
        stream.cancel()
        queued = await runs.CreateRun(runs_pb2.CreateRunRequest(thread_id=t2.id, assistant_id=quick.id))
        got = await runs.GetRun(runs_pb2.GetRunRequest(thread_id=t2.id, run_id=queued.id))
        assert got.status == "queued", got.status  # max_concurrency = 1: it waits for the slow run
        assert active is not None
        return t1.id, active, t2.id, queued.id


async def _wait(
    runs: runs_pb2_grpc.RunsStub, thread_id: str, run_id: str, statuses: tuple[str, ...]
) -> res.Run:
    deadline = time.monotonic() + 20
    while True:
        run = await runs.GetRun(runs_pb2.GetRunRequest(thread_id=thread_id, run_id=run_id))
        if run.status in statuses or time.monotonic() > deadline:
            assert run.status in statuses, run.status
            return run
        await asyncio.sleep(0.1)


async def test_killed_server_runs_are_failed_or_resumed_on_restart(
    tmp_path: Path, upstream: FakeUpstream
) -> None:
    config = _config(tmp_path, upstream)
    with serve_process(tmp_path, config) as (proc, port):
        t1, active, t2, queued = await _start_runs(port)
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    with serve_process(tmp_path, config) as (proc, port):
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            runs = runs_pb2_grpc.RunsStub(channel)
            # The dead process's lease (1 s) lapses, then the new one takes its runs over.
            failed = await _wait(runs, t1, active, ("failed",))
            assert failed.last_error.code == "server_error"
            assert "the server executing it stopped" in failed.last_error.message
            messages = messages_pb2_grpc.MessagesStub(channel)
            page = await messages.ListMessages(messages_pb2.ListMessagesRequest(thread_id=t1, run_id=active))
            (partial,) = page.data
            assert partial.status == "incomplete" and partial.incomplete_details.reason == "run_failed"
            assert partial.content[0].text.value.startswith("w0 ")  # what was flushed before the kill
            steps = await runs.ListRunSteps(runs_pb2.ListRunStepsRequest(thread_id=t1, run_id=active))
            assert [s.status for s in steps.data] == ["failed"]

            # The queued run had not started: it is resumed here and completes.
            final = await _wait(runs, t2, queued, ("completed",))
            assert final.status == "completed"
            answer = await messages.ListMessages(
                messages_pb2.ListMessagesRequest(thread_id=t2, run_id=queued)
            )
            assert answer.data[0].content[0].text.value == "Echo: after restart"


class _SnapshotMissesRuns(dict):  # type: ignore[type-arg]
    """The engine's tasks, but a snapshot of their ids (``list(tasks)``) comes out empty: what a sweep
    sees when its query was built before a run was launched and ran after it had started."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(())


async def test_a_sweep_never_fails_a_run_this_process_is_executing(
    database_url: str, upstream: FakeUpstream
) -> None:
    async with running(make_settings(database_url, upstream)) as app, connect(app) as stubs:
        assistant, thread = await assistant_and_thread(stubs, "words:20:0.1")
        run = await stubs.runs.CreateRun(
            runs_pb2.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id)
        )
        await wait_for_status(stubs, thread.id, run.id, ("in_progress",))
        app.engine._tasks = _SnapshotMissesRuns(app.engine._tasks)
        await app.engine.sweep()
        ended = await wait_for_status(stubs, thread.id, run.id)
        assert ended.status == "completed", ended.last_error.message
