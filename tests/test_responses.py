"""The Responses and Conversations APIs through the real openai SDK (strict response validation), on the
run engine and the Assistants store: plain and streamed responses (the SDK's stream helper), function
tools in both styles (previous_response_id + function_call_output, and a stateless whole history),
chains across a restart, background responses retrieved and cancelled, input items, deletion, errors
naming the field, conversations as threads (and back), and gRPC."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import openai
import pytest
from conftest import make_settings, sdk_of
from fake_upstream import FakeUpstream
from threaded_server import ThreadedServer

from pygentic.config import Settings
from pygentic.proto.v1 import responses_pb2, responses_pb2_grpc

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture
def settings(tmp_path: Path, upstream: FakeUpstream) -> Settings:
    return make_settings(f"sqlite:///{tmp_path / 'responses.db'}", upstream)


@pytest.fixture
def server(settings: Settings) -> Iterator[ThreadedServer]:
    with ThreadedServer(settings) as running:
        yield running


@pytest.fixture
def sdk(server: ThreadedServer) -> openai.OpenAI:
    return sdk_of(server)


def _sent(upstream: FakeUpstream) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = upstream.requests[-1]["messages"]
    return messages


def test_a_plain_response(sdk: openai.OpenAI, upstream: FakeUpstream) -> None:
    made = sdk.responses.create(
        model="echo", input="hello there", instructions="Be brief.", temperature=0.2, metadata={"k": "v"}
    )
    assert made.object == "response" and made.id.startswith("resp_")
    assert (made.status, made.model, made.output_text) == ("completed", "echo", "Echo: hello there")
    (item,) = made.output
    assert item.type == "message" and item.role == "assistant" and item.status == "completed"
    assert item.content[0].type == "output_text" and item.content[0].annotations == []
    assert made.usage is not None and made.usage.output_tokens == 3
    assert made.usage.total_tokens == made.usage.input_tokens + 3
    assert (made.instructions, made.temperature, made.metadata) == ("Be brief.", 0.2, {"k": "v"})
    assert made.completed_at is not None and made.error is None
    assert _sent(upstream) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello there"},
    ]
    again = sdk.responses.retrieve(made.id)
    assert again.model_dump() == made.model_dump()


def test_the_stream_helper_sees_every_event_in_order(sdk: openai.OpenAI) -> None:
    with sdk.responses.stream(model="echo", input="one two three") as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 4,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "Echo: one two three"
    assert final.output_text == "Echo: one two three" and final.status == "completed"
    assert events[0].response.status == "in_progress"


def test_a_function_call_answered_with_previous_response_id(
    sdk: openai.OpenAI, upstream: FakeUpstream
) -> None:
    first = sdk.responses.create(model="tools", input="Weather in Paris?", tools=[WEATHER])
    assert first.status == "completed"
    (call,) = first.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"} and call.id and call.call_id.startswith("call_")
    answer = {"type": "function_call_output", "call_id": call.call_id, "output": "21 C"}
    second = sdk.responses.create(
        model="tools", previous_response_id=first.id, input=[answer], tools=[WEATHER]
    )
    assert (second.status, second.output_text) == ("completed", "Tool said: 21 C")
    assert [o.type for o in second.output] == ["message"]
    assert _sent(upstream)[-2:] == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": call.call_id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": call.arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.call_id, "content": "21 C"},
    ]
    # The first response still shows what it ended with.
    assert [o.type for o in sdk.responses.retrieve(first.id).output] == ["function_call"]
    (item,) = sdk.responses.input_items.list(second.id).data
    assert (item.type, item.call_id, item.output) == ("function_call_output", call.call_id, "21 C")


def test_streamed_function_calls(sdk: openai.OpenAI) -> None:
    with sdk.responses.stream(model="tools", input="Weather?", tools=[WEATHER]) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert events[2].item.type == "function_call" and events[2].item.name == "get_weather"
    arguments = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert json.loads(arguments) == {"city": "Paris"}
    assert kinds[-3:] == [
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    (call,) = final.output
    assert call.type == "function_call" and json.loads(call.arguments) == {"city": "Paris"}
    answer = {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}
    with sdk.responses.stream(
        model="tools", previous_response_id=final.id, input=[answer], tools=[WEATHER]
    ) as stream:
        assert stream.get_final_response().output_text == "Tool said: sunny"


def test_a_stateless_history_with_function_calls(sdk: openai.OpenAI, upstream: FakeUpstream) -> None:
    history = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city": "Paris"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "21 C"},
    ]
    made = sdk.responses.create(model="tools", input=history, tools=[WEATHER])
    assert made.output_text == "Tool said: 21 C"
    assert [m["role"] for m in _sent(upstream)] == ["user", "assistant", "tool"]
    items = sdk.responses.input_items.list(made.id, order="asc").data
    assert [i.type for i in items] == ["message", "function_call", "function_call_output"]
    call = items[1]
    assert (call.call_id, call.name, call.arguments) == ("call_1", "get_weather", '{"city": "Paris"}')  # type: ignore[union-attr]
    assert items[0].id.startswith("msg_")  # the id of the message made for it
    with pytest.raises(openai.BadRequestError, match="No tool output found for function call call_2"):
        sdk.responses.create(
            model="tools",
            input=[{"type": "function_call", "call_id": "call_2", "name": "get_weather", "arguments": "{}"}],
        )


def test_previous_response_id_chains_across_a_restart(settings: Settings, upstream: FakeUpstream) -> None:
    with ThreadedServer(settings) as server:
        first = sdk_of(server).responses.create(model="echo", input="remember me")
    with ThreadedServer(settings) as server:
        sdk = sdk_of(server)
        assert sdk.responses.retrieve(first.id).output_text == "Echo: remember me"
        second = sdk.responses.create(model="echo", input="and now", previous_response_id=first.id)
    assert second.previous_response_id == first.id
    assert _sent(upstream) == [
        {"role": "user", "content": "remember me"},
        {"role": "assistant", "content": "Echo: remember me"},
        {"role": "user", "content": "and now"},
    ]


def _until(sdk: openai.OpenAI, response_id: str, statuses: tuple[str, ...]) -> Any:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        response = sdk.responses.retrieve(response_id)
        if response.status in statuses:
            return response
        time.sleep(0.05)
    raise AssertionError(f"{response_id} stayed {response.status}")


def test_background_responses_are_retrieved_and_cancelled(sdk: openai.OpenAI) -> None:
    started = sdk.responses.create(model="words:5:0.05", input="go", background=True)
    assert started.background is True and started.status in ("queued", "in_progress")
    done = _until(sdk, started.id, ("completed",))
    assert done.output_text == "w0 w1 w2 w3 w4 "
    slow = sdk.responses.create(model="words:200:0.05", input="go", background=True)
    _until(sdk, slow.id, ("in_progress",))
    sdk.responses.cancel(slow.id)
    assert _until(sdk, slow.id, ("cancelled",)).status == "cancelled"
    with pytest.raises(openai.BadRequestError, match="Only responses created with background=true"):
        sdk.responses.cancel(sdk.responses.create(model="echo", input="x").id)


def test_input_items_list_and_page(sdk: openai.OpenAI) -> None:
    made = sdk.responses.create(
        model="echo",
        input=[
            {"role": "developer", "content": "Answer in French."},
            {"role": "user", "content": [{"type": "input_text", "text": "one"}]},
            {"role": "assistant", "content": "un"},
            {"role": "user", "content": "two"},
        ],
    )
    newest_first = sdk.responses.input_items.list(made.id).data
    assert [(i.role, i.content[0].text) for i in newest_first] == [
        ("user", "two"),
        ("assistant", "un"),
        ("user", "one"),
        ("developer", "Answer in French."),
    ]
    page = sdk.responses.input_items.list(made.id, order="asc", limit=2)
    assert [i.content[0].text for i in page.data] == ["Answer in French.", "one"] and page.has_more
    rest = sdk.responses.input_items.list(made.id, order="asc", after=page.data[-1].id)
    assert [i.content[0].text for i in rest.data] == ["un", "two"] and not rest.has_more


def test_delete_and_errors(sdk: openai.OpenAI) -> None:
    made = sdk.responses.create(model="echo", input="bye")
    assert sdk.responses.delete(made.id) is None  # the SDK returns nothing for a 200
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(made.id)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"input": "x", "previous_response_id": "resp_missing"}, "previous_response_id"),
        ({"input": "x", "tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"input": [{"type": "reasoning"}]}, "input[0].type"),
        ({"input": [{"role": "wizard", "content": "x"}]}, "input[0].role"),
        (
            {"input": [{"type": "function_call_output", "call_id": "c", "output": "o"}]},
            "previous_response_id",
        ),
        ({"input": "x", "conversation": "thread_x", "previous_response_id": made.id}, "conversation"),
        ({"input": "x", "temperature": 5}, "temperature"),
        ({"input": "x", "max_output_tokens": 0}, "max_output_tokens"),
        ({"input": "x", "text": {"format": {"type": "yaml"}}}, "text.format.type"),
    ]
    for fields, param in cases:
        with pytest.raises((openai.BadRequestError, openai.NotFoundError)) as info:
            sdk.responses.create(model="echo", **fields)
        assert info.value.body["param"] == param, (fields, info.value.body)  # type: ignore[index]


def test_conversations_are_threads(sdk: openai.OpenAI) -> None:
    conversation = sdk.conversations.create(
        items=[{"type": "message", "role": "user", "content": "first"}], metadata={"topic": "t"}
    )
    assert conversation.object == "conversation" and conversation.metadata == {"topic": "t"}
    answered = sdk.responses.create(model="echo", input="in the conversation", conversation=conversation.id)
    assert answered.conversation is not None and answered.conversation.id == conversation.id
    items = sdk.conversations.items.list(conversation.id, order="asc").data
    assert [(i.role, i.content[0].text) for i in items] == [  # type: ignore[union-attr]
        ("user", "first"),
        ("user", "in the conversation"),
        ("assistant", "Echo: in the conversation"),
    ]
    # The same id is a thread: the Assistants API reads it and continues it with a run.
    thread = sdk.beta.threads.retrieve(conversation.id)
    texts = [m.content[0].text.value for m in sdk.beta.threads.messages.list(thread.id, order="asc").data]  # type: ignore[union-attr]
    assert texts == ["first", "in the conversation", "Echo: in the conversation"]
    assistant = sdk.beta.assistants.create(model="echo")
    sdk.beta.threads.messages.create(thread.id, role="user", content="from a run")
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    last = sdk.conversations.items.list(conversation.id, limit=1).data[0]
    assert (last.role, last.content[0].text) == ("assistant", "Echo: from a run")  # type: ignore[union-attr]
    # A thread made by the Assistants API reads as a conversation.
    other = sdk.beta.threads.create(messages=[{"role": "user", "content": "assistants thread"}])
    assert sdk.conversations.retrieve(other.id).id == other.id
    (only,) = sdk.conversations.items.list(other.id).data
    assert only.content[0].text == "assistants thread"  # type: ignore[union-attr]


def test_conversation_items_and_metadata(sdk: openai.OpenAI) -> None:
    conversation = sdk.conversations.create()
    added = sdk.conversations.items.create(
        conversation.id,
        items=[
            {"type": "message", "role": "user", "content": "a"},
            {"type": "message", "role": "assistant", "content": "b"},
        ],
    )
    assert [i.content[0].text for i in added.data] == ["a", "b"]  # type: ignore[union-attr]
    item = sdk.conversations.items.retrieve(added.data[1].id, conversation_id=conversation.id)
    assert (item.role, item.content[0].type) == ("assistant", "output_text")  # type: ignore[union-attr]
    assert (
        sdk.conversations.items.delete(added.data[0].id, conversation_id=conversation.id).id
        == conversation.id
    )
    assert len(sdk.conversations.items.list(conversation.id).data) == 1
    assert sdk.conversations.update(conversation.id, metadata={"k": "v"}).metadata == {"k": "v"}
    assert sdk.conversations.delete(conversation.id).deleted is True
    with pytest.raises(openai.NotFoundError) as info:
        sdk.conversations.retrieve(conversation.id)
    assert "No conversation found" in info.value.message


def test_responses_over_grpc(server: ThreadedServer) -> None:
    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = responses_pb2_grpc.ResponsesStub(channel)
        request = responses_pb2.CreateResponseRequest(model="echo")
        request.input.string_value = "over grpc"
        events = list(stub.StreamResponse(request, timeout=10))
        assert events[-1].type == "response.completed"
        assert events[-1].response.output[0].content[0].text == "Echo: over grpc"
        again = stub.GetResponse(
            responses_pb2.GetResponseRequest(response_id=events[-1].response.id), timeout=10
        )
        assert again.status == "completed"
        with pytest.raises(grpc.RpcError) as info:
            stub.CreateResponse(responses_pb2.CreateResponseRequest(model="echo"), timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_chain_continues_on_another_replica(database_url: str, upstream: FakeUpstream) -> None:
    settings = make_settings(database_url, upstream)
    with ThreadedServer(settings) as a, ThreadedServer(settings) as b:
        on_a, on_b = sdk_of(a), sdk_of(b)
        first = on_a.responses.create(model="echo", input="on a")
        assert on_b.responses.retrieve(first.id).output_text == "Echo: on a"
        second = on_b.responses.create(model="echo", input="on b", previous_response_id=first.id)
        assert second.output_text == "Echo: on b"
        assert [m["content"] for m in _sent(upstream)] == ["on a", "Echo: on a", "on b"]
        running = on_a.responses.create(model="words:5:0.05", input="go", background=True)
        assert _until(on_b, running.id, ("completed",)).output_text == "w0 w1 w2 w3 w4 "


def test_a_branch_from_an_earlier_response_sees_only_its_history(
    sdk: openai.OpenAI, upstream: FakeUpstream
) -> None:
    first = sdk.responses.create(model="echo", input="one")
    second = sdk.responses.create(model="echo", input="two", previous_response_id=first.id)
    branch = sdk.responses.create(model="echo", input="other two", previous_response_id=first.id)
    assert branch.previous_response_id == first.id and branch.output_text == "Echo: other two"
    assert [m["content"] for m in _sent(upstream)] == ["one", "Echo: one", "other two"]  # not "two"
    on_branch = sdk.responses.create(model="echo", input="three", previous_response_id=branch.id)
    assert [m["content"] for m in _sent(upstream)] == [
        "one",
        "Echo: one",
        "other two",
        "Echo: other two",
        "three",
    ]
    on_main = sdk.responses.create(model="echo", input="three", previous_response_id=second.id)
    assert [m["content"] for m in _sent(upstream)] == ["one", "Echo: one", "two", "Echo: two", "three"]
    assert on_branch.output_text == on_main.output_text == "Echo: three"
    # A branch after function calls keeps the calls and their outputs.
    called = sdk.responses.create(model="tools", input="Weather?", tools=[WEATHER])
    (call,) = called.output
    answer = {"type": "function_call_output", "call_id": call.call_id, "output": "21 C"}  # type: ignore[union-attr]
    answered = sdk.responses.create(
        model="tools", previous_response_id=called.id, input=[answer], tools=[WEATHER]
    )
    sdk.responses.create(model="echo", input="after", previous_response_id=answered.id)
    sdk.responses.create(model="echo", input="instead", previous_response_id=answered.id)
    assert [m["role"] for m in _sent(upstream)] == ["user", "assistant", "tool", "assistant", "user"]
    assert _sent(upstream)[-1]["content"] == "instead"
