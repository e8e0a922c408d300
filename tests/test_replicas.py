"""Two Pygentic processes on one database: run ownership by lease.

Both servers run in this test's event loop, each with its own engine, bus and connectors, sharing only the
database, as two replicas would.
"""

from __future__ import annotations

import asyncio

from conftest import connect, make_settings, running
from fake_upstream import FakeUpstream
from runhelpers import assistant_and_thread, messages_of, wait_for_status, weather_tool

from pygentic.config import RunSettings
from pygentic.proto.v1 import runs_pb2 as pb


async def test_a_live_replica_keeps_its_runs_and_honours_cancels_from_another(
    database_url: str, upstream: FakeUpstream
) -> None:
    settings = make_settings(database_url, upstream, runs=RunSettings(lease=1.0))
    async with running(settings) as first, connect(first) as a:
        assistant, thread = await assistant_and_thread(a, "words:60:0.05")  # 3 s of text
        run = await a.runs.CreateRun(pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id))
        async with running(settings) as second, connect(second) as b:
            await asyncio.sleep(2.5)  # several lease periods: the second replica sweeps, the first renews
            seen = await b.runs.GetRun(pb.GetRunRequest(thread_id=thread.id, run_id=run.id))
            assert seen.status == "in_progress"  # not taken over while its owner is alive
            final = await wait_for_status(a, thread.id, run.id)
            assert final.status == "completed"

            other = await a.runs.CreateRun(
                pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id)
            )
            await wait_for_status(b, thread.id, other.id, ["in_progress"])
            cancelling = await b.runs.CancelRun(pb.CancelRunRequest(thread_id=thread.id, run_id=other.id))
            assert cancelling.status == "cancelling"
            cancelled = await wait_for_status(b, thread.id, other.id, within=5)
            assert cancelled.status == "cancelled"  # the owner saw the request at its next lease renewal
            assert (await messages_of(a, thread.id))[-1].status == "incomplete"


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
