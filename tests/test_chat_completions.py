"""``/v1/chat/completions`` and ``/v1/models`` through the real openai SDK (strict response validation),
and the same over gRPC: the configured connector (the real OpenAI connector on the fake upstream), its
routing and its concurrency limit, with nothing stored."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import openai
import pytest
from conftest import WEATHER_TOOL, make_settings, sdk_of
from fake_upstream import FakeUpstream
from threaded_server import ThreadedServer

from pygentic.proto.v1 import chat_pb2, chat_pb2_grpc, models_pb2, models_pb2_grpc


@pytest.fixture
def server(tmp_path: Path, upstream: FakeUpstream) -> Iterator[ThreadedServer]:
    with ThreadedServer(make_settings(f"sqlite:///{tmp_path / 'chat.db'}", upstream, max_concurrency=2)) as s:
        yield s


@pytest.fixture
def sdk(server: ThreadedServer) -> openai.OpenAI:
    return sdk_of(server)


def test_a_completion_whole(sdk: openai.OpenAI, upstream: FakeUpstream) -> None:
    done = sdk.chat.completions.create(
        model="echo",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}],
        temperature=0.3,
        max_tokens=50,
    )
    assert done.object == "chat.completion" and done.id.startswith("chatcmpl")
    assert done.model == "echo"
    (choice,) = done.choices
    assert (choice.index, choice.finish_reason, choice.message.role) == (0, "stop", "assistant")
    assert choice.message.content == "Echo: hello there"
    assert choice.message.tool_calls is None
    assert done.usage is not None and done.usage.completion_tokens == 3
    assert done.usage.total_tokens == done.usage.prompt_tokens + 3
    sent = upstream.requests[-1]
    assert sent["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello there"},
    ]
    assert (sent["temperature"], sent["max_completion_tokens"]) == (0.3, 50)


def test_a_streamed_completion_with_usage(sdk: openai.OpenAI) -> None:
    chunks = list(
        sdk.chat.completions.create(
            model="echo",
            messages=[{"role": "user", "content": "one two three"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: one two three"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == 4  # streamed, not whole
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "stop"
    ]
    assert (
        chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4
    )
    assert len({c.id for c in chunks}) == 1 and all(c.object == "chat.completion.chunk" for c in chunks)


def test_a_function_call_round_trip(sdk: openai.OpenAI) -> None:
    asked = [{"role": "user", "content": "Weather in Paris?"}]
    first = sdk.chat.completions.create(model="tools", messages=asked, tools=[WEATHER_TOOL])
    (call,) = first.choices[0].message.tool_calls or []
    assert first.choices[0].finish_reason == "tool_calls"
    assert (call.type, call.function.name, json.loads(call.function.arguments)) == (
        "function",
        "get_weather",
        {"city": "Paris"},
    )
    history = [
        *asked,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "21 C"},
    ]
    second = sdk.chat.completions.create(model="tools", messages=history, tools=[WEATHER_TOOL])
    assert second.choices[0].message.content == "Tool said: 21 C"
    # The SDK's stream helper assembles the streamed call (id and name once, arguments in fragments).
    for model in ("tools", "tools-quirky"):
        with sdk.chat.completions.stream(model=model, messages=asked, tools=[WEATHER_TOOL]) as stream:
            final = stream.get_final_completion()
        (streamed,) = final.choices[0].message.tool_calls or []
        assert (streamed.function.name, json.loads(streamed.function.arguments)) == (
            "get_weather",
            {"city": "Paris"},
        )
        assert final.choices[0].finish_reason == "tool_calls"


def test_models_are_listed_from_the_connectors(sdk: openai.OpenAI) -> None:
    listed = sdk.models.list()
    assert [(m.id, m.owned_by, m.object) for m in listed.data] == [("echo", "llm_service", "model")]
    assert sdk.models.retrieve("echo").id == "echo"
    with pytest.raises(openai.NotFoundError, match="The model 'gpt-nope' does not exist"):
        sdk.models.retrieve("gpt-nope")


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"n": 2}, "n"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
        ({"messages": []}, "messages"),
        ({"tools": [{"type": "file_search"}]}, "tools[0].type"),
        ({"temperature": 3}, "temperature"),
        ({"tool_choice": "sometimes", "tools": [WEATHER_TOOL]}, "tool_choice"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
    ],
)
def test_bad_requests_name_the_field(sdk: openai.OpenAI, fields: dict, param: str) -> None:
    body = {"model": "echo", "messages": [{"role": "user", "content": "hi"}], **fields}
    with pytest.raises(openai.BadRequestError) as info:
        sdk.chat.completions.create(**body)
    assert info.value.param == param, info.value.message


def test_an_upstream_failure_is_a_503_and_stream_errors_reach_the_sdk(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as info:
        sdk.chat.completions.create(model="fail500", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 503 and "The model could not answer" in info.value.message
    with pytest.raises(openai.APIError, match="could not answer"):
        list(
            sdk.chat.completions.create(
                model="cut", messages=[{"role": "user", "content": "hi"}], stream=True
            )
        )


def test_chat_completions_share_the_connectors_limit(server: ThreadedServer, upstream: FakeUpstream) -> None:
    async def many() -> list[str]:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0)
        async with client:
            answers = await asyncio.gather(
                *(
                    client.chat.completions.create(
                        model="echo:0.1", messages=[{"role": "user", "content": f"n{i}"}]
                    )
                    for i in range(6)
                )
            )
        return [a.choices[0].message.content or "" for a in answers]

    upstream.reset_stats()
    assert sorted(asyncio.run(many())) == [f"Echo: n{i}" for i in range(6)]
    assert upstream.max_in_flight == 2  # max_concurrency = 2: the others waited, none failed


def test_the_same_over_grpc(server: ThreadedServer) -> None:
    with grpc.insecure_channel(server.grpc_target) as channel:
        chat = chat_pb2_grpc.ChatCompletionsStub(channel)
        request = chat_pb2.CreateChatCompletionRequest(
            model="echo", messages=[chat_pb2.ChatMessage(role="user")]
        )
        request.messages[0].content.string_value = "over grpc"
        whole = chat.CreateChatCompletion(request, timeout=10)
        assert whole.choices[0].message.content == "Echo: over grpc"
        chunks = list(chat.StreamChatCompletion(request, timeout=10))
        assert "".join(c.choices[0].delta.content for c in chunks if c.choices) == "Echo: over grpc"
        assert chunks[-1].choices[0].finish_reason == "stop"
        models = models_pb2_grpc.ModelsStub(channel).ListModels(models_pb2.ListModelsRequest(), timeout=10)
        assert [m.id for m in models.data] == ["echo"]
        with pytest.raises(grpc.RpcError) as info:
            chat.CreateChatCompletion(chat_pb2.CreateChatCompletionRequest(model="echo"), timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "messages" in (
            info.value.details() or ""
        )
