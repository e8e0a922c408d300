"""Helpers for the run tests: set up an assistant and a thread, collect streams, poll runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable

from conftest import Stubs
from google.protobuf import struct_pb2

from pygentic.proto.v1 import assistants_pb2, messages_pb2, runs_pb2, threads_pb2
from pygentic.proto.v1 import resources_pb2 as res

TERMINAL = ("completed", "failed", "cancelled", "expired", "incomplete")


def weather_tool() -> res.Tool:
    params = struct_pb2.Struct()
    params.update({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
    return res.Tool(
        type="function",
        function=res.FunctionDefinition(
            name="get_weather", description="Weather of a city", parameters=params
        ),
    )


async def assistant_and_thread(
    stubs: Stubs,
    model: str,
    text: str = "Hello there",
    tools: Iterable[res.Tool] = (),
    instructions: str = "",
) -> tuple[res.Assistant, res.Thread]:
    assistant = await stubs.assistants.CreateAssistant(
        assistants_pb2.CreateAssistantRequest(model=model, tools=list(tools), instructions=instructions)
    )
    thread = await stubs.threads.CreateThread(
        threads_pb2.CreateThreadRequest(
            messages=[res.MessageInput(role="user", content=struct_pb2.Value(string_value=text))]
        )
    )
    return assistant, thread


async def collect(stream: AsyncIterator[runs_pb2.RunEvent]) -> list[runs_pb2.RunEvent]:
    return [event async for event in stream]


def names(events: list[runs_pb2.RunEvent]) -> list[str]:
    return [e.event for e in events]


def text_run_events(deltas: int) -> list[str]:
    """The event names of a streamed run that answers with text in ``deltas`` message deltas."""
    return [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.message.created",
        "thread.message.in_progress",
        *["thread.message.delta"] * deltas,
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
        "done",
    ]


def delta_text(events: list[runs_pb2.RunEvent]) -> str:
    return "".join(
        part.text.value
        for e in events
        if e.event == "thread.message.delta"
        for part in e.message_delta.delta.content
    )


async def wait_for_status(
    stubs: Stubs, thread_id: str, run_id: str, statuses: Iterable[str] = TERMINAL, within: float = 15.0
) -> res.Run:
    wanted = tuple(statuses)
    deadline = time.monotonic() + within
    while True:
        run = await stubs.runs.GetRun(runs_pb2.GetRunRequest(thread_id=thread_id, run_id=run_id))
        if run.status in wanted:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} still {run.status!r} after {within} s (wanted {wanted})")
        await asyncio.sleep(0.05)


async def messages_of(stubs: Stubs, thread_id: str, **kwargs: object) -> list[res.Message]:
    page = await stubs.messages.ListMessages(
        messages_pb2.ListMessagesRequest(thread_id=thread_id, order="asc", limit=100, **kwargs)
    )
    return list(page.data)
