"""The Runs service against a fake OpenAI-compatible upstream served over real HTTP.

The run engine talks to it through the real OpenAI connector (the `openai` SDK's async client).
"""

from __future__ import annotations

import asyncio
import json
import uuid

import grpc
import pytest
from conftest import Stubs, connect, expect_status, make_settings, running
from fake_upstream import FakeUpstream
from google.protobuf import json_format, struct_pb2
from runhelpers import (
    assistant_and_thread,
    collect,
    delta_text,
    messages_of,
    names,
    text_run_events,
    wait_for_status,
    weather_tool,
)

from pygentic.app import Pygentic
from pygentic.config import RunSettings
from pygentic.proto.v1 import messages_pb2, threads_pb2
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.proto.v1 import runs_pb2 as pb

INVALID = grpc.StatusCode.INVALID_ARGUMENT
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


def run_request(assistant: res.Assistant, thread: res.Thread, **kwargs: object) -> pb.CreateRunRequest:
    return pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id, **kwargs)


async def test_streamed_run_events_and_stored_message(
    app: Pygentic, stubs: Stubs, upstream: FakeUpstream
) -> None:
    # One delta per upstream chunk, as the model sent them: merging the deltas a lagging subscriber has
    # not read yet ([runs] coalesce_after, tests/test_bus.py) is off, so a loaded machine cannot merge.
    app.bus.coalesce_after = 0.0
    assistant, thread = await assistant_and_thread(
        stubs, "echo", "What is two plus two", instructions="Be brief."
    )
    events = await collect(stubs.runs.StreamRun(run_request(assistant, thread)))
    assert names(events) == text_run_events(deltas=6)
    run = events[0].run
    assert run.id.startswith("run_") and run.status == "queued" and run.thread_id == thread.id
    assert run.model == "echo" and run.instructions == "Be brief." and run.HasField("expires_at")
    final = events[-2].run
    assert final.status == "completed" and final.HasField("completed_at") and final.HasField("started_at")
    assert final.usage.total_tokens == final.usage.prompt_tokens + final.usage.completion_tokens > 0

    text = delta_text(events)
    assert text == "Echo: What is two plus two"
    stored = await messages_of(stubs, thread.id)
    assert [m.role for m in stored] == ["user", "assistant"]
    answer = stored[1]
    assert answer.content[0].text.value == text and answer.status == "completed"
    assert answer.run_id == run.id and answer.assistant_id == assistant.id and answer.HasField("completed_at")
    assert events[4].message.id == answer.id
    step = events[3].run_step
    assert step.type == "message_creation" and step.step_details.message_creation.message_id == answer.id

    sent = upstream.requests_for("echo")[-1]
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["messages"][-1] == {"role": "user", "content": "What is two plus two"}
    assert sent["stream"] is True

    steps = await stubs.runs.ListRunSteps(pb.ListRunStepsRequest(thread_id=thread.id, run_id=run.id))
    assert [s.id for s in steps.data] == [step.id] and steps.data[0].status == "completed"
    got = await stubs.runs.GetRunStep(
        pb.GetRunStepRequest(thread_id=thread.id, run_id=run.id, step_id=step.id)
    )
    assert got == steps.data[0]
    by_run = await messages_of(stubs, thread.id, run_id=run.id)
    assert [m.id for m in by_run] == [answer.id]


async def test_unary_run_is_polled_to_completion(stubs: Stubs) -> None:
    assistant, thread = await assistant_and_thread(stubs, "echo", "hi")
    run = await stubs.runs.CreateRun(run_request(assistant, thread, metadata={"k": "v"}, temperature=0.3))
    assert (
        run.status == "queued" and dict(run.metadata) == {"k": "v"} and run.temperature == pytest.approx(0.3)
    )
    done = await wait_for_status(stubs, thread.id, run.id)
    assert done.status == "completed"
    assert (await messages_of(stubs, thread.id))[-1].content[0].text.value == "Echo: hi"
    updated = await stubs.runs.UpdateRun(
        pb.UpdateRunRequest(thread_id=thread.id, run_id=run.id, metadata={"a": "b"})
    )
    assert dict(updated.metadata) == {"a": "b"}


async def _tool_run(stubs: Stubs, model: str) -> tuple[res.Assistant, res.Thread, list[pb.RunEvent]]:
    assistant, thread = await assistant_and_thread(stubs, model, "Weather in Paris?", tools=[weather_tool()])
    events = await collect(stubs.runs.StreamRun(run_request(assistant, thread)))
    return assistant, thread, events


@pytest.mark.parametrize("model", ["tools", "tools-quirky"])
async def test_function_tool_loop_streamed(stubs: Stubs, upstream: FakeUpstream, model: str) -> None:
    _, thread, events = await _tool_run(stubs, model)
    assert names(events)[:4] == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
    ]
    assert names(events)[-2:] == ["thread.run.requires_action", "done"]
    step = events[3].run_step
    assert step.type == "tool_calls" and step.status == "in_progress"
    deltas = [e.run_step_delta for e in events if e.event == "thread.run.step.delta"]
    first = deltas[0].delta.step_details.tool_calls[0]
    assert first.index == 0 and first.id == "call_fake0" and first.type == "function"
    assert first.function.name == "get_weather"
    assert all(not d.delta.step_details.tool_calls[0].id for d in deltas[1:])
    assert all(not d.delta.step_details.tool_calls[0].function.name for d in deltas[1:])
    arguments = "".join(d.delta.step_details.tool_calls[0].function.arguments for d in deltas)
    assert json.loads(arguments) == {"city": "Paris"}

    run = events[-2].run
    assert run.status == "requires_action" and run.required_action.type == "submit_tool_outputs"
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    assert (call.id, call.type, call.function.name, call.function.arguments) == (
        "call_fake0",
        "function",
        "get_weather",
        arguments,
    )

    more = await collect(
        stubs.runs.StreamSubmitToolOutputs(
            pb.SubmitToolOutputsRequest(
                thread_id=thread.id,
                run_id=run.id,
                tool_outputs=[pb.ToolOutput(tool_call_id=call.id, output="22C sunny")],
            )
        )
    )
    assert names(more)[:4] == [
        "thread.run.step.completed",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
    ]
    assert names(more)[-3:] == ["thread.run.step.completed", "thread.run.completed", "done"]
    completed_step = more[0].run_step
    assert (
        completed_step.id == step.id
        and completed_step.step_details.tool_calls[0].function.output == "22C sunny"
    )
    assert delta_text(more) == "Tool said: 22C sunny"

    sent = upstream.requests_for(model)[-1]["messages"]
    assistant_turn, tool_turn = sent[-2], sent[-1]
    assert assistant_turn["role"] == "assistant" and assistant_turn["content"] == ""  # never null
    assert assistant_turn["tool_calls"][0]["id"] == "call_fake0"
    assert tool_turn == {"role": "tool", "tool_call_id": "call_fake0", "content": "22C sunny"}

    steps = await stubs.runs.ListRunSteps(
        pb.ListRunStepsRequest(thread_id=thread.id, run_id=run.id, order="asc")
    )
    assert [s.type for s in steps.data] == ["tool_calls", "message_creation"]
    assert all(s.status == "completed" for s in steps.data)


async def test_function_tool_loop_unary_with_parallel_calls(stubs: Stubs) -> None:
    assistant, thread = await assistant_and_thread(stubs, "two-tools", "Weather?", tools=[weather_tool()])
    run = await stubs.runs.CreateRun(run_request(assistant, thread))
    waiting = await wait_for_status(stubs, thread.id, run.id, ["requires_action"])
    calls = waiting.required_action.submit_tool_outputs.tool_calls
    assert [c.id for c in calls] == ["call_fake0", "call_fake1"]
    assert [json.loads(c.function.arguments)["city"] for c in calls] == ["Paris", "Paris1"]

    submit = pb.SubmitToolOutputsRequest(thread_id=thread.id, run_id=run.id)
    await expect_status(stubs.runs.SubmitToolOutputs(submit), INVALID, "missing outputs", "call_fake0")
    submit.tool_outputs.append(pb.ToolOutput(tool_call_id="call_fake0", output="a"))
    submit.tool_outputs.append(pb.ToolOutput(tool_call_id="call_fake0", output="b"))
    await expect_status(
        stubs.runs.SubmitToolOutputs(submit), INVALID, "'tool_outputs[1].tool_call_id'", "twice"
    )
    submit.tool_outputs[1].tool_call_id = "call_other"
    await expect_status(stubs.runs.SubmitToolOutputs(submit), INVALID, "call_other")
    submit.tool_outputs[1].tool_call_id = "call_fake1"
    continued = await stubs.runs.SubmitToolOutputs(submit)
    assert continued.status == "queued" and not continued.HasField("required_action")
    done = await wait_for_status(stubs, thread.id, run.id)
    assert done.status == "completed"
    assert (await messages_of(stubs, thread.id))[-1].content[0].text.value == "Tool said: a | b"
    await expect_status(stubs.runs.SubmitToolOutputs(submit), PRECONDITION, "completed")


async def test_cancel_during_generation(stubs: Stubs) -> None:
    assistant, thread = await assistant_and_thread(stubs, "words:200:0.05")
    stream = stubs.runs.StreamRun(run_request(assistant, thread))
    events: list[pb.RunEvent] = []
    async for event in stream:
        events.append(event)
        if event.event == "thread.message.delta" and len(delta_text(events)) > 6:
            run_id = events[0].run.id
            cancelled = await stubs.runs.CancelRun(pb.CancelRunRequest(thread_id=thread.id, run_id=run_id))
            assert cancelled.status == "cancelling"
    assert names(events)[-5:] == [
        "thread.run.cancelling",
        "thread.message.incomplete",
        "thread.run.step.cancelled",
        "thread.run.cancelled",
        "done",
    ]
    final = events[-2].run
    assert final.status == "cancelled" and final.HasField("cancelled_at")
    message = (await messages_of(stubs, thread.id))[-1]
    assert message.status == "incomplete" and message.incomplete_details.reason == "run_cancelled"
    assert message.content[0].text.value.startswith("w0 w1")
    steps = await stubs.runs.ListRunSteps(pb.ListRunStepsRequest(thread_id=thread.id, run_id=final.id))
    assert steps.data[0].status == "cancelled"
    await expect_status(
        stubs.runs.CancelRun(pb.CancelRunRequest(thread_id=thread.id, run_id=final.id)),
        PRECONDITION,
        "cancelled",
    )


async def test_cancel_while_waiting_for_tool_outputs(stubs: Stubs) -> None:
    _, thread, events = await _tool_run(stubs, "tools")
    run = events[-2].run
    await stubs.runs.CancelRun(pb.CancelRunRequest(thread_id=thread.id, run_id=run.id))
    final = await wait_for_status(stubs, thread.id, run.id)
    assert final.status == "cancelled" and not final.HasField("required_action")


async def test_a_cancel_at_any_moment_of_a_streaming_answer_ends_the_run_cancelled(stubs: Stubs) -> None:
    """Cancels landing anywhere in a fast stream (a chunk every 5 ms): none may be lost, e.g. to a
    timeout helper that swallows a cancellation arriving as its awaited chunk completes."""

    async def one(delay: float) -> str:
        assistant, thread = await assistant_and_thread(stubs, "words:400:0.005")
        run = await stubs.runs.CreateRun(run_request(assistant, thread))
        await asyncio.sleep(delay)
        await stubs.runs.CancelRun(pb.CancelRunRequest(thread_id=thread.id, run_id=run.id))
        return (await wait_for_status(stubs, thread.id, run.id)).status

    statuses = await asyncio.gather(*(one(0.02 + 0.013 * i) for i in range(24)))
    assert statuses == ["cancelled"] * 24


async def test_active_run_blocks_messages_and_new_runs(stubs: Stubs) -> None:
    assistant, thread = await assistant_and_thread(stubs, "words:100:0.05")
    run = await stubs.runs.CreateRun(run_request(assistant, thread))
    await expect_status(
        stubs.messages.CreateMessage(
            messages_pb2.CreateMessageRequest(
                thread_id=thread.id, role="user", content=struct_pb2.Value(string_value="more")
            )
        ),
        PRECONDITION,
        run.id,
    )
    await expect_status(stubs.runs.CreateRun(run_request(assistant, thread)), PRECONDITION, run.id)
    await expect_status(
        stubs.threads.DeleteThread(threads_pb2.DeleteThreadRequest(thread_id=thread.id)), PRECONDITION, run.id
    )
    await stubs.runs.CancelRun(pb.CancelRunRequest(thread_id=thread.id, run_id=run.id))
    await wait_for_status(stubs, thread.id, run.id)
    second = await stubs.runs.CreateRun(run_request(assistant, thread, model="echo"))
    assert (await wait_for_status(stubs, thread.id, second.id)).status == "completed"


async def test_expiry_while_waiting_for_tool_outputs(database_url: str, upstream: FakeUpstream) -> None:
    settings = make_settings(database_url, upstream, runs=RunSettings(expires_after=1.0))
    async with running(settings) as app, connect(app) as stubs:
        _, thread, events = await _tool_run(stubs, "tools")
        run = events[-2].run
        assert run.expires_at - run.created_at == 1
        final = await wait_for_status(stubs, thread.id, run.id, within=5)
        assert final.status == "expired"
        steps = await stubs.runs.ListRunSteps(pb.ListRunStepsRequest(thread_id=thread.id, run_id=run.id))
        assert steps.data[0].status == "expired" and steps.data[0].HasField("expired_at")


async def test_truncation_last_messages(stubs: Stubs, upstream: FakeUpstream) -> None:
    thread = await stubs.threads.CreateThread(
        threads_pb2.CreateThreadRequest(
            messages=[
                res.MessageInput(role="user", content=struct_pb2.Value(string_value=f"message {i}"))
                for i in range(6)
            ]
        )
    )
    assistant, _ = await assistant_and_thread(stubs, "echo:0")
    run = await stubs.runs.CreateRun(
        run_request(
            assistant,
            thread,
            truncation_strategy=res.TruncationStrategy(type="last_messages", last_messages=2),
        )
    )
    assert (await wait_for_status(stubs, thread.id, run.id)).status == "completed"
    sent = upstream.requests_for("echo:0")[-1]["messages"]
    assert [m["content"] for m in sent] == ["message 4", "message 5"]
    assert run.truncation_strategy.type == "last_messages" and run.truncation_strategy.last_messages == 2


async def test_auto_truncation_drops_oldest_messages_to_fit_max_prompt_tokens(
    stubs: Stubs, upstream: FakeUpstream
) -> None:
    thread = await stubs.threads.CreateThread(
        threads_pb2.CreateThreadRequest(
            messages=[
                res.MessageInput(role="user", content=struct_pb2.Value(string_value=f"{i} " + "x" * 400))
                for i in range(5)
            ]
        )
    )
    assistant, _ = await assistant_and_thread(stubs, "echo:0.0")
    run = await stubs.runs.CreateRun(run_request(assistant, thread, max_prompt_tokens=250))
    assert (await wait_for_status(stubs, thread.id, run.id)).status == "completed"
    sent = upstream.requests_for("echo:0.0")[-1]["messages"]
    assert [m["content"][0] for m in sent] == ["3", "4"]


async def test_incomplete_on_max_completion_tokens(stubs: Stubs, upstream: FakeUpstream) -> None:
    assistant, thread = await assistant_and_thread(stubs, "length")
    events = await collect(stubs.runs.StreamRun(run_request(assistant, thread, max_completion_tokens=4)))
    assert names(events)[-4:] == [
        "thread.message.incomplete",
        "thread.run.step.completed",
        "thread.run.incomplete",
        "done",
    ]
    run = events[-2].run
    assert run.status == "incomplete" and run.incomplete_details.reason == "max_completion_tokens"
    message = (await messages_of(stubs, thread.id))[-1]
    assert message.status == "incomplete" and message.content[0].text.value == "This answer is cut"
    assert message.incomplete_details.reason == "max_completion_tokens"
    assert upstream.requests_for("length")[-1]["max_completion_tokens"] == 4


async def test_incomplete_on_max_prompt_tokens(stubs: Stubs) -> None:
    assistant, thread = await assistant_and_thread(stubs, "echo", "x" * 2000)
    run = await stubs.runs.CreateRun(run_request(assistant, thread, max_prompt_tokens=50))
    final = await wait_for_status(stubs, thread.id, run.id)
    assert final.status == "incomplete" and final.incomplete_details.reason == "max_prompt_tokens"


async def test_two_subscribers_and_a_late_watcher_rebuild_the_same_text(stubs: Stubs) -> None:
    assistant, thread = await assistant_and_thread(stubs, "words:30:0.03")
    first_events: list[pb.RunEvent] = []
    started, halfway = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async for event in stubs.runs.StreamRun(run_request(assistant, thread)):
            first_events.append(event)
            started.set()
            if len(delta_text(first_events)) >= 20:
                halfway.set()

    task = asyncio.create_task(first())
    await started.wait()
    run_id = first_events[0].run.id
    watch = pb.WatchRunRequest(thread_id=thread.id, run_id=run_id)
    second_task = asyncio.create_task(collect(stubs.runs.WatchRun(watch)))
    await halfway.wait()
    late = await collect(stubs.runs.WatchRun(watch))
    await task
    second = await second_task

    stored = (await messages_of(stubs, thread.id))[-1].content[0].text.value
    assert stored == " ".join(f"w{i}" for i in range(30)) + " "
    for events in (first_events, second, late):
        assert delta_text(events) == stored
        assert names(events)[-2:] == ["thread.run.completed", "done"]
        created = names(events).index("thread.message.created")
        assert created < names(events).index("thread.message.delta")
    assert late[0].event == "thread.run.in_progress"  # the late subscriber starts from the current state


async def test_watch_a_finished_run(stubs: Stubs) -> None:
    assistant, thread = await assistant_and_thread(stubs, "echo")
    events = await collect(stubs.runs.StreamRun(run_request(assistant, thread)))
    watched = await collect(
        stubs.runs.WatchRun(pb.WatchRunRequest(thread_id=thread.id, run_id=events[0].run.id))
    )
    assert names(watched) == ["thread.run.completed", "done"]


async def test_a_vanished_subscriber_does_not_stop_the_run(stubs: Stubs, app) -> None:  # type: ignore[no-untyped-def]
    assistant, thread = await assistant_and_thread(stubs, "words:20:0.03")
    call = stubs.runs.StreamRun(run_request(assistant, thread))
    run_id = None
    async for event in call:
        run_id = event.run.id if event.event == "thread.run.created" else run_id
        if event.event == "thread.message.delta":
            break
    call.cancel()
    assert run_id is not None
    final = await wait_for_status(stubs, thread.id, run_id)
    assert final.status == "completed"
    assert app.bus.subscriber_count() == 0


@pytest.mark.parametrize(
    ("model", "fragment"),
    [
        ("fail500", "HTTP 500"),
        ("fail429", "HTTP 429"),
        ("hang", "unreachable or silent"),
        ("hang-mid", "sent nothing for 2 s"),
        ("cut", "stream"),
        ("garbage", "broken stream"),
    ],
)
async def test_upstream_faults_fail_the_run_within_the_timeout(
    stubs: Stubs, model: str, fragment: str
) -> None:
    assistant, thread = await assistant_and_thread(stubs, model)
    loop = asyncio.get_running_loop()
    start = loop.time()
    events = await collect(stubs.runs.StreamRun(run_request(assistant, thread)))
    elapsed = loop.time() - start
    assert names(events)[-2:] == ["thread.run.failed", "done"]
    run = events[-2].run
    assert run.status == "failed" and run.HasField("failed_at")
    assert run.last_error.code == ("rate_limit_exceeded" if model == "fail429" else "server_error")
    assert fragment in run.last_error.message
    assert elapsed < 2.0 + 3.0  # the configured 2 s timeout, with no retries, plus slack
    for message in await messages_of(stubs, thread.id, run_id=run.id):
        assert message.status == "incomplete"


@pytest.mark.parametrize("model", ["hang", "fail500", "hang-mid", "cut", "garbage"])
async def test_with_retries_a_faulty_upstream_still_fails_within_the_timeout(
    database_url: str, upstream: FakeUpstream, model: str
) -> None:
    """Retries (the default 2) never stretch a run's wait past its timeout: silence is not retried and a
    retry's backoff must fit in the same budget."""
    settings = make_settings(database_url, upstream, max_retries=2)
    async with running(settings) as app, connect(app) as stubs:
        assistant, thread = await assistant_and_thread(stubs, model)
        loop = asyncio.get_running_loop()
        start = loop.time()
        events = await collect(stubs.runs.StreamRun(run_request(assistant, thread)))
        elapsed = loop.time() - start
        run = events[-2].run
        assert run.status == "failed" and run.last_error.message
        assert elapsed < 2.0 + 2.0, elapsed  # the configured 2 s timeout plus 2 s


async def test_retries_before_the_first_token(database_url: str, upstream: FakeUpstream) -> None:
    settings = make_settings(database_url, upstream, max_retries=2)
    async with running(settings) as app, connect(app) as stubs:
        model = f"flaky:2:{uuid.uuid4().hex}"  # the counter is per model name
        assistant, thread = await assistant_and_thread(stubs, model)
        run = await stubs.runs.CreateRun(run_request(assistant, thread))
        final = await wait_for_status(stubs, thread.id, run.id)
        assert final.status == "completed"
        assert len(upstream.requests_for(model)) == 3


async def test_thread_and_run(stubs: Stubs) -> None:
    assistant, _ = await assistant_and_thread(stubs, "echo")
    request = pb.CreateThreadAndRunRequest(
        assistant_id=assistant.id,
        thread=threads_pb2.CreateThreadRequest(
            messages=[res.MessageInput(role="user", content=struct_pb2.Value(string_value="streamed hello"))],
            metadata={"via": "stream"},
        ),
    )
    events = await collect(stubs.runs.StreamThreadAndRun(request))
    assert names(events)[:2] == ["thread.created", "thread.run.created"]
    assert events[0].thread.metadata["via"] == "stream" and events[1].run.thread_id == events[0].thread.id
    assert delta_text(events) == "Echo: streamed hello"

    request.thread.messages[0].content.string_value = "unary hello"
    run = await stubs.runs.CreateThreadAndRun(request)
    assert (await wait_for_status(stubs, run.thread_id, run.id)).status == "completed"
    assert (await messages_of(stubs, run.thread_id))[-1].content[0].text.value == "Echo: unary hello"


async def test_list_runs_and_errors(stubs: Stubs) -> None:
    assistant, thread = await assistant_and_thread(stubs, "echo")
    ids = []
    for _ in range(5):
        run = await stubs.runs.CreateRun(run_request(assistant, thread))
        await wait_for_status(stubs, thread.id, run.id)
        ids.append(run.id)
    page = await stubs.runs.ListRuns(pb.ListRunsRequest(thread_id=thread.id, limit=2))
    assert [r.id for r in page.data] == ids[::-1][:2] and page.has_more
    page = await stubs.runs.ListRuns(
        pb.ListRunsRequest(thread_id=thread.id, limit=10, order="asc", after=ids[1])
    )
    assert [r.id for r in page.data] == ids[2:] and not page.has_more

    await expect_status(
        stubs.runs.GetRun(pb.GetRunRequest(thread_id=thread.id, run_id="run_nope")),
        grpc.StatusCode.NOT_FOUND,
        "run_nope",
    )
    await expect_status(
        stubs.runs.GetRun(pb.GetRunRequest(thread_id="thread_nope", run_id=ids[0])),
        grpc.StatusCode.NOT_FOUND,
        "thread_nope",
    )
    await expect_status(
        stubs.runs.CreateRun(pb.CreateRunRequest(thread_id=thread.id, assistant_id="asst_nope")),
        grpc.StatusCode.NOT_FOUND,
        "asst_nope",
    )
    bad_choice = run_request(assistant, thread)
    json_format.ParseDict({"type": "function", "function": {"name": "nope"}}, bad_choice.tool_choice)
    await expect_status(stubs.runs.CreateRun(bad_choice), INVALID, "'tool_choice.function.name'")
    await expect_status(
        stubs.runs.CreateRun(run_request(assistant, thread, max_completion_tokens=0)),
        INVALID,
        "'max_completion_tokens'",
    )
    await expect_status(
        stubs.runs.CreateRun(
            run_request(assistant, thread, truncation_strategy=res.TruncationStrategy(type="x"))
        ),
        INVALID,
        "'truncation_strategy.type'",
    )
    await expect_status(
        stubs.runs.CreateRun(run_request(assistant, thread, include=["everything"])), INVALID, "'include'"
    )
    await expect_status(
        stubs.runs.WatchRun(pb.WatchRunRequest(thread_id=thread.id, run_id="run_x")).read(),
        grpc.StatusCode.NOT_FOUND,
        "run_x",
    )


async def test_request_options_reach_the_upstream(stubs: Stubs, upstream: FakeUpstream) -> None:
    assistant, thread = await assistant_and_thread(stubs, "echo:0.00", tools=[weather_tool()])
    request = run_request(
        assistant,
        thread,
        temperature=0.2,
        top_p=0.5,
        parallel_tool_calls=False,
        max_completion_tokens=50,
        additional_instructions="Use metric units.",
    )
    json_format.ParseDict("required", request.tool_choice)
    json_format.ParseDict(
        {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}}},
        request.response_format,
    )
    run = await stubs.runs.CreateRun(request)
    assert json_format.MessageToDict(run.response_format)["type"] == "json_schema"
    await wait_for_status(stubs, thread.id, run.id)
    sent = upstream.requests_for("echo:0.00")[-1]
    assert sent["tool_choice"] == "required" and sent["parallel_tool_calls"] is False
    assert sent["temperature"] == 0.2 and sent["top_p"] == 0.5 and sent["max_completion_tokens"] == 50
    assert "max_tokens" not in sent
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": {"type": "object"}},
    }
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["messages"][0] == {"role": "system", "content": "Use metric units."}


async def test_graceful_shutdown_lets_a_streaming_run_finish(
    database_url: str, upstream: FakeUpstream
) -> None:
    from pygentic.app import Pygentic, ServeOptions

    app = Pygentic(
        make_settings(database_url, upstream), ServeOptions(grpc_port=0, gateway=False, shutdown_grace=5)
    )
    await app.start()
    async with connect(app) as stubs:
        assistant, thread = await assistant_and_thread(stubs, "words:20:0.05")
        events: list[pb.RunEvent] = []
        stopping = None
        async for event in stubs.runs.StreamRun(run_request(assistant, thread)):
            events.append(event)
            if event.event == "thread.message.delta" and stopping is None:
                stopping = asyncio.create_task(app.stop())  # SIGTERM does exactly this
        assert stopping is not None
        await stopping
    assert names(events)[-2:] == ["thread.run.completed", "done"]
    assert delta_text(events) == " ".join(f"w{i}" for i in range(20)) + " "


async def test_metadata_set_on_the_message_being_generated_is_kept(stubs: Stubs) -> None:
    # The engine writes only the columns it changes: a client's metadata change mid-run survives the
    # text flushes and the message's end.
    assistant, thread = await assistant_and_thread(stubs, "words:12:0.15")
    run = await stubs.runs.CreateRun(run_request(assistant, thread))
    for _ in range(100):
        generated = await messages_of(stubs, thread.id, run_id=run.id)
        if generated:
            break
        await asyncio.sleep(0.05)
    assert generated and generated[0].status == "in_progress"
    await stubs.messages.UpdateMessage(
        messages_pb2.UpdateMessageRequest(
            thread_id=thread.id, message_id=generated[0].id, metadata={"reviewed": "yes"}
        )
    )
    assert (await wait_for_status(stubs, thread.id, run.id)).status == "completed"
    (answer,) = await messages_of(stubs, thread.id, run_id=run.id)
    assert answer.status == "completed"
    assert answer.content[0].text.value == "".join(f"w{i} " for i in range(12))
    assert dict(answer.metadata) == {"reviewed": "yes"}


async def test_a_sweep_between_a_runs_creation_and_its_launch_leaves_it_alone(
    database_url: str, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On PostgreSQL a new run's commit and its launch are an await apart, and the maintenance sweep
    # (which ends this process's executing runs that have no task) can run in between: it must not take
    # the run for one whose task died. Here the sweep runs in exactly that gap, for a run started at
    # creation (in_progress) and for one stored queued.
    from pygentic.operations.runs import RunOperations

    real_started = RunOperations._started
    swept: list[str] = []

    async def sweep_then_launch(self: RunOperations, run: object) -> None:
        await self.engine.sweep()
        swept.append(run.id)  # type: ignore[attr-defined]
        real_started(self, run)  # type: ignore[arg-type]

    def started(self: RunOperations, run: object) -> None:
        # _started is synchronous; run the sweep first, then launch, with the run already committed.
        pending.append(asyncio.ensure_future(sweep_then_launch(self, run)))

    pending: list[asyncio.Future[None]] = []
    monkeypatch.setattr(RunOperations, "_started", started)
    async with (
        running(make_settings(database_url, upstream, max_concurrency=1)) as app,
        connect(app) as stubs,
    ):
        slow, slow_thread = await assistant_and_thread(stubs, "words:3:0.2")
        first = await stubs.runs.CreateRun(
            pb.CreateRunRequest(thread_id=slow_thread.id, assistant_id=slow.id)
        )
        echo, echo_thread = await assistant_and_thread(stubs, "echo")
        second = await stubs.runs.CreateRun(
            pb.CreateRunRequest(thread_id=echo_thread.id, assistant_id=echo.id)
        )
        await asyncio.gather(*pending)
        assert swept == [first.id, second.id]
        for thread_id, run_id in ((slow_thread.id, first.id), (echo_thread.id, second.id)):
            final = await wait_for_status(stubs, thread_id, run_id)
            assert final.status == "completed", final.last_error.message


async def test_a_run_with_a_free_place_starts_in_the_commit_that_creates_it(
    database_url: str, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One commit fewer per run: with a place free at its connector, the run is stored in_progress (and
    # started) by its creation's transaction; on the wire it still is created and queued first, as at
    # OpenAI. A run that finds no place is stored queued and started once one frees up.
    from pygentic.storage import repositories as repos

    inserted: dict[str, tuple[str, bool]] = {}
    real_insert = repos.runs.insert

    async def recording_insert(db: object, row: object) -> object:
        inserted[row.id] = (row.status, row.started_at is not None)  # type: ignore[attr-defined]
        return await real_insert(db, row)  # type: ignore[arg-type]

    monkeypatch.setattr(repos.runs, "insert", recording_insert)
    async with (
        running(make_settings(database_url, upstream, max_concurrency=1)) as app,
        connect(app) as stubs,
    ):
        assistant, thread = await assistant_and_thread(stubs, "echo")
        events = await collect(
            stubs.runs.StreamRun(pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id))
        )
        first = events[0].run
        assert names(events)[:3] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
        assert inserted[first.id] == ("in_progress", True)
        for event in events[:2]:
            assert event.run.status == "queued" and not event.run.HasField("started_at")
        assert events[2].run.HasField("started_at")

        # The only place is taken by a slow run: the next one waits queued, and is stored so.
        slow, slow_thread = await assistant_and_thread(stubs, "words:5:0.2")
        busy = await stubs.runs.CreateRun(pb.CreateRunRequest(thread_id=slow_thread.id, assistant_id=slow.id))
        assert busy.status == "queued" and not busy.HasField("started_at")  # the answer shows it queued
        assert inserted[busy.id] == ("in_progress", True)
        _, waiting_thread = await assistant_and_thread(stubs, "echo")
        waiting = await stubs.runs.CreateRun(
            pb.CreateRunRequest(thread_id=waiting_thread.id, assistant_id=assistant.id)
        )
        assert inserted[waiting.id] == ("queued", False)
        stored = await stubs.runs.GetRun(pb.GetRunRequest(thread_id=waiting.thread_id, run_id=waiting.id))
        assert stored.status == "queued"
        done = await wait_for_status(stubs, waiting.thread_id, waiting.id)
        assert done.status == "completed" and done.HasField("started_at")
        assert (await wait_for_status(stubs, busy.thread_id, busy.id)).status == "completed"
