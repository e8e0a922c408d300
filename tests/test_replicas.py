"""Two Pygentic processes on one database: run ownership by lease.

Both servers run in this test's event loop, each with its own engine, bus and connectors, sharing only the
database, as two replicas would.
"""

from __future__ import annotations

import asyncio

from conftest import connect, make_settings, running
from fake_upstream import FakeUpstream
from runhelpers import (
    assistant_and_thread,
    collect,
    delta_text,
    messages_of,
    names,
    wait_for_status,
    weather_tool,
)

from pygentic.config import RunSettings
from pygentic.proto.v1 import runs_pb2 as pb


async def test_a_live_replica_keeps_its_runs_and_honours_cancels_from_another(
    database_url: str, upstream: FakeUpstream
) -> None:
    settings = make_settings(database_url, upstream, runs=RunSettings(lease=2.0))
    async with running(settings) as first, connect(first) as a:
        assistant, thread = await assistant_and_thread(a, "words:100:0.05")  # 5 s of text
        run = await a.runs.CreateRun(pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id))
        async with running(settings) as second, connect(second) as b:
            await asyncio.sleep(3.5)  # more than a lease: the second replica sweeps, the first renews
            seen = await b.runs.GetRun(pb.GetRunRequest(thread_id=thread.id, run_id=run.id))
            assert seen.status == "in_progress"  # not taken over while its owner is alive
            final = await wait_for_status(a, thread.id, run.id)
            assert final.status == "completed"

            other = await a.runs.CreateRun(
                pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id)
            )
            await wait_for_status(b, thread.id, other.id, ["in_progress"])
            # Cancel once the run has begun its answer, so there is a partial message to end (on a loaded
            # machine the first word can come after a lease renewal, which would leave none).
            for _ in range(200):
                if await messages_of(b, thread.id, run_id=other.id):
                    break
                await asyncio.sleep(0.025)
            cancelling = await b.runs.CancelRun(pb.CancelRunRequest(thread_id=thread.id, run_id=other.id))
            assert cancelling.status == "cancelling"
            cancelled = await wait_for_status(b, thread.id, other.id, within=5)
            assert cancelled.status == "cancelled"  # the owner saw the request at its next lease renewal
            (partial,) = await messages_of(a, thread.id, run_id=other.id)
            assert partial.status == "incomplete"


async def test_tool_outputs_submitted_to_another_replica(database_url: str, upstream: FakeUpstream) -> None:
    settings = make_settings(database_url, upstream, runs=RunSettings(lease=1.0))
    async with (
        running(settings) as first,
        connect(first) as a,
        running(settings) as second,
        connect(second) as b,
    ):
        assistant, thread = await assistant_and_thread(a, "tools", "Weather?", tools=[weather_tool()])
        run = await a.runs.CreateRun(pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id))
        waiting = await wait_for_status(a, thread.id, run.id, ["requires_action"])
        call = waiting.required_action.submit_tool_outputs.tool_calls[0]
        await b.runs.SubmitToolOutputs(
            pb.SubmitToolOutputsRequest(
                thread_id=thread.id,
                run_id=run.id,
                tool_outputs=[pb.ToolOutput(tool_call_id=call.id, output="fog")],
            )
        )
        final = await wait_for_status(a, thread.id, run.id)
        assert final.status == "completed"
        assert (await messages_of(a, thread.id))[-1].content[0].text.value == "Tool said: fog"


async def test_watch_a_run_executing_on_another_replica(database_url: str, upstream: FakeUpstream) -> None:
    settings = make_settings(database_url, upstream)
    async with (
        running(settings) as first,
        connect(first) as a,
        running(settings) as second,
        connect(second) as b,
    ):
        assistant, thread = await assistant_and_thread(a, "words:40:0.04", instructions="x" * 9000)
        own: list[pb.RunEvent] = []
        halfway = asyncio.Event()

        async def follow() -> None:
            async for event in a.runs.StreamRun(
                pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id)
            ):
                own.append(event)
                if len(delta_text(own)) > 30:
                    halfway.set()

        task = asyncio.create_task(follow())
        await halfway.wait()
        run_id = own[0].run.id
        elsewhere = await collect(b.runs.WatchRun(pb.WatchRunRequest(thread_id=thread.id, run_id=run_id)))
        await task
        stored = (await messages_of(a, thread.id))[-1].content[0].text.value
        assert delta_text(own) == stored
        assert delta_text(elsewhere) == stored  # the snapshot plus the live deltas, nothing lost or doubled
        assert names(elsewhere)[0] == "thread.run.in_progress"
        assert names(elsewhere)[-2:] == ["thread.run.completed", "done"]
        # Larger than a PostgreSQL notification: sent via the table there.
    assert elsewhere[0].run.instructions == "x" * 9000
