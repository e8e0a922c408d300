"""Under 200 concurrent streamed runs, no event is lost or reordered per run, and every published
transition is in the database (SQLite and PostgreSQL). The safety net for work on the hot path."""

from __future__ import annotations

import asyncio

from conftest import connect, make_settings, running
from fake_upstream import FakeUpstream
from google.protobuf import struct_pb2
from runhelpers import collect, delta_text, names, text_run_events

from pygentic.proto.v1 import assistants_pb2, messages_pb2, runs_pb2, threads_pb2
from pygentic.proto.v1 import resources_pb2 as res

RUNS = 200
WORDS = 12
LOAD_TIMEOUT_S = 15.0
EXPECTED = text_run_events(deltas=1)  # consecutive deltas collapsed: one or more (the text is checked whole)


async def test_200_concurrent_streamed_runs_lose_and_reorder_nothing(
    database_url: str, upstream: FakeUpstream
) -> None:
    # The upstream shares this process (and its GIL) with the server: under 200 streams on a busy machine
    # its answers can start later than the fault tests' 2 s budget, which is not what this test is about.
    settings = make_settings(database_url, upstream, timeout=LOAD_TIMEOUT_S)
    async with running(settings) as app, connect(app) as stubs:
        assistant = await stubs.assistants.CreateAssistant(
            assistants_pb2.CreateAssistantRequest(model=f"words:{WORDS}:0.01")
        )
        message = res.MessageInput(role="user", content=struct_pb2.Value(string_value="go"))
        threads = await asyncio.gather(
            *(
                stubs.threads.CreateThread(threads_pb2.CreateThreadRequest(messages=[message]))
                for _ in range(RUNS)
            )
        )
        streams = await asyncio.gather(
            *(
                collect(
                    stubs.runs.StreamRun(
                        runs_pb2.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id)
                    )
                )
                for thread in threads
            )
        )
        text = "".join(f"w{i} " for i in range(WORDS))
        for thread, events in zip(threads, streams, strict=True):
            collapsed = [
                n
                for i, n in enumerate(names(events))
                if not (n == "thread.message.delta" == names(events)[i - 1])
            ]
            assert collapsed == EXPECTED, thread.id
            assert delta_text(events) == text
            run_ids = {e.run.id for e in events if e.HasField("run")}
            assert len(run_ids) == 1
            run_id = run_ids.pop()
            # Every published transition is durable: the stored objects are what the stream said.
            run = await stubs.runs.GetRun(runs_pb2.GetRunRequest(thread_id=thread.id, run_id=run_id))
            assert run.status == "completed" and run.completed_at
            step_ids = {e.run_step.id for e in events if e.HasField("run_step")}
            steps = await stubs.runs.ListRunSteps(
                runs_pb2.ListRunStepsRequest(thread_id=thread.id, run_id=run_id)
            )
            assert {s.id for s in steps.data} == step_ids and all(s.status == "completed" for s in steps.data)
            published = [e.message for e in events if e.event == "thread.message.completed"]
            stored = await stubs.messages.GetMessage(
                messages_pb2.GetMessageRequest(thread_id=thread.id, message_id=published[0].id)
            )
            assert stored.status == "completed" and stored.content[0].text.value == text
