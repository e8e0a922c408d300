"""pygentic.client against a real server on a real port (the fake upstream behind the real OpenAI
connector): streamed runs with typed events, the function-call loop, pagination, create_and_wait, update
masks, API keys, TLS, gRPC retries on UNAVAILABLE with one idempotency key, deadlines; and the runnable
example in clients/python as a separate process."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import WEATHER_TOOL, make_settings
from fake_upstream import FakeUpstream
from grpc import aio
from pki import make_pki
from threaded_server import ThreadedServer

from pygentic.client import (
    TLS,
    Client,
    Connection,
    DoneEvent,
    Functions,
    PygenticError,
    RetryPolicy,
    RunStatusEvent,
    TextDeltaEvent,
)
from pygentic.config import ServerSettings, TLSSettings
from pygentic.proto.v1 import resources_pb2

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def server(tmp_path: Path, upstream: FakeUpstream) -> Iterator[ThreadedServer]:
    with ThreadedServer(make_settings(f"sqlite:///{tmp_path / 'c.db'}", upstream), gateway=False) as running:
        yield running


@pytest.fixture
async def client(server: ThreadedServer) -> AsyncIterator[Client]:
    async with Client(server.grpc_target) as connected:
        yield connected


async def test_stream_run_yields_typed_events_and_the_text_as_it_grows(client: Client) -> None:
    assistant = await client.create_assistant("echo", name="typed", instructions="Repeat.")
    thread = await client.create_thread(["one two three"])
    stream = client.stream_run(thread.id, assistant.id)
    grown: list[str] = []
    async for event in stream:
        if isinstance(event, TextDeltaEvent):
            assert event.text == (grown[-1] if grown else "") + event.delta
            grown.append(event.text)
    assert grown[-1] == "Echo: one two three" == stream.text
    assert len(grown) == 4  # one delta per word: the text is seen growing, not only at the end
    assert isinstance(stream.events[0], RunStatusEvent) and stream.events[0].name == "thread.run.created"
    assert isinstance(stream.events[-1], DoneEvent)
    assert stream.run is not None and stream.run.status == "completed"
    (message,) = [m async for m in client.list_messages(thread.id, run_id=stream.run.id)]
    assert message.content[0].text.value == stream.text


async def test_functions_answer_requires_action_and_the_run_goes_on(client: Client) -> None:
    seen: list[str] = []

    async def get_weather(city: str) -> dict[str, Any]:
        seen.append(city)
        return {"city": city, "temperature_c": 21}

    assistant = await client.create_assistant("tools", tools=[WEATHER_TOOL])
    thread = await client.create_thread(["Weather in Paris?"])
    stream = client.stream_run(thread.id, assistant.id, functions={"get_weather": get_weather})
    names = [event.name async for event in stream]
    assert seen == ["Paris"]
    assert "thread.run.requires_action" in names and names[-2:] == ["thread.run.completed", "done"]
    assert stream.text == 'Tool said: {"city": "Paris", "temperature_c": 21}'
    # Without functions the stream stops where the run waits, as OpenAI's does.
    other = await client.create_thread(["Weather in Paris?"])
    waiting = await client.create_and_wait(other.id, assistant.id)
    assert waiting.status == "requires_action"
    (call,) = waiting.required_action.submit_tool_outputs.tool_calls
    ran = await client.submit_tool_outputs(other.id, waiting.id, {call.id: "sunny"})
    assert ran.id == waiting.id
    ended = await client.watch_run(other.id, waiting.id).until_done()
    assert ended.status == "completed"


async def test_function_failures_are_told_to_the_model_or_raised(client: Client) -> None:
    def get_weather(city: str) -> str:
        raise RuntimeError(f"no station in {city}")

    assistant = await client.create_assistant("tools", tools=[WEATHER_TOOL])
    thread = await client.create_thread(["Weather?"])
    run = await client.create_and_wait(thread.id, assistant.id, functions=[get_weather])
    assert run.status == "completed"
    (answer,) = [m async for m in client.list_messages(thread.id, run_id=run.id)]
    assert answer.content[0].text.value == 'Tool said: {"error": "RuntimeError: no station in Paris"}'
    unknown = await client.create_thread(["Weather?"])
    run = await client.create_and_wait(unknown.id, assistant.id, functions={"other": get_weather})
    (answer,) = [m async for m in client.list_messages(unknown.id, run_id=run.id)]
    assert "no function named 'get_weather'" in answer.content[0].text.value
    strict = await client.create_thread(["Weather?"])
    with pytest.raises(RuntimeError, match="no station in Paris"):
        await client.create_and_wait(
            strict.id, assistant.id, functions=Functions([get_weather], raise_errors=True)
        )


async def test_lists_page_through_everything_in_order(client: Client) -> None:
    thread = await client.create_thread()
    for i in range(7):
        await client.create_message(thread.id, f"message {i}")
    texts = [m.content[0].text.value async for m in client.list_messages(thread.id, page_size=3)]
    assert texts == [f"message {i}" for i in range(7)]
    newest_first = [
        m.content[0].text.value async for m in client.list_messages(thread.id, order="desc", page_size=2)
    ]
    assert newest_first == texts[::-1]
    made = [await client.create_assistant("echo", name=f"a{i}") for i in range(5)]
    listed = [a.id async for a in client.list_assistants(page_size=2)]
    assert listed[:5] == [a.id for a in reversed(made)]


async def test_update_changes_only_the_fields_given(client: Client) -> None:
    assistant = await client.create_assistant(
        "echo", name="before", instructions="Keep me.", metadata={"k": "v"}
    )
    updated = await client.update_assistant(assistant.id, name="after")
    assert (updated.name, updated.instructions, dict(updated.metadata)) == ("after", "Keep me.", {"k": "v"})
    cleared = await client.update_assistant(assistant.id, instructions=None)
    assert (cleared.name, cleared.HasField("instructions")) == ("after", False)
    assert await client.delete_assistant(assistant.id) is True
    with pytest.raises(PygenticError) as info:
        await client.get_assistant(assistant.id)
    assert info.value.code == grpc.StatusCode.NOT_FOUND and assistant.id in info.value.message


async def test_wrong_fields_fail_before_anything_is_sent(client: Client) -> None:
    with pytest.raises(TypeError, match=r"CreateAssistantRequest.*temprature"):
        await client.create_assistant("echo", temprature=0.2)
    with pytest.raises(PygenticError) as info:
        await client.create_assistant("echo", temperature=7)
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT and "temperature" in info.value.message


async def test_upload_file_streams_a_path_in_chunks(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"x" * 700_000)  # three upload chunks
    uploaded = await client.upload_file(path)
    assert (uploaded.filename, uploaded.bytes, uploaded.purpose) == ("notes.txt", 700_000, "assistants")
    assert uploaded.id in [f.id async for f in client.list_files(purpose="assistants")]
    assert await client.delete_file(uploaded.id) is True


def _key_server(tmp_path: Path, upstream: FakeUpstream) -> ThreadedServer:
    return ThreadedServer(make_settings(f"sqlite:///{tmp_path / 'k.db'}", upstream), gateway=False)


async def test_the_api_key_is_sent_on_every_call(tmp_path: Path, upstream: FakeUpstream) -> None:
    with _key_server(tmp_path, upstream) as server:
        _, secret = server.call(server.app.operations.keys.create("alpha", "client key"))
        async with Client(server.grpc_target) as anonymous:
            with pytest.raises(PygenticError) as info:
                await anonymous.create_assistant("echo")
            assert info.value.code == grpc.StatusCode.UNAUTHENTICATED
        async with Client(connection=Connection(target=server.grpc_target, api_key=str(secret))) as client:
            assistant = await client.create_assistant("echo")
            thread = await client.create_thread(["hi"])
            stream = client.stream_run(thread.id, assistant.id)
            assert (await stream.until_done()).status == "completed"
            assert stream.text == "Echo: hi"


async def test_tls_and_mutual_tls(tmp_path: Path, upstream: FakeUpstream) -> None:
    pki = make_pki(tmp_path)
    tls = TLSSettings(cert=str(pki.server_cert), key=str(pki.server_key), client_ca=str(pki.ca))
    settings = dataclasses.replace(
        make_settings(f"sqlite:///{tmp_path / 't.db'}", upstream), server=ServerSettings(tls=tls)
    )
    with ThreadedServer(settings, gateway=False) as server:
        target = f"localhost:{server.app.grpc_port}"
        mutual = TLS(root_certificates=pki.ca, certificate_chain=pki.client_cert, private_key=pki.client_key)
        async with Client(connection=Connection(target=target, tls=mutual)) as client:
            assert (await client.create_assistant("echo")).id.startswith("asst_")
        anonymous = Connection(target=target, tls=TLS(root_certificates=pki.ca), retry=None, timeout=5)
        async with Client(connection=anonymous) as client:
            with pytest.raises(PygenticError) as info:
                await client.create_assistant("echo")
            assert info.value.code == grpc.StatusCode.UNAVAILABLE
    with pytest.raises(ValueError, match="together"):
        TLS(root_certificates=pki.ca, certificate_chain=pki.client_cert).credentials()


class FlakyAssistants:
    """A real grpc.aio server whose CreateAssistant answers UNAVAILABLE ``failures`` times, then an
    assistant; it keeps each attempt's metadata."""

    def __init__(self, failures: int, delay: float = 0.0) -> None:
        self.failures = failures
        self.delay = delay
        self.attempts: list[dict[str, str]] = []
        self.server = aio.server()
        handler = grpc.method_handlers_generic_handler(
            "pygentic.v1.Assistants",
            {
                "CreateAssistant": grpc.unary_unary_rpc_method_handler(
                    self.create,
                    request_deserializer=lambda data: data,
                    response_serializer=resources_pb2.Assistant.SerializeToString,
                )
            },
        )
        self.server.add_generic_rpc_handlers((handler,))
        self.port = self.server.add_insecure_port("127.0.0.1:0")

    async def create(self, request: bytes, context: aio.ServicerContext) -> resources_pb2.Assistant:
        self.attempts.append({k: str(v) for k, v in context.invocation_metadata() or ()})
        if self.delay:
            await asyncio.sleep(self.delay)
        if len(self.attempts) <= self.failures:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "restarting")
        return resources_pb2.Assistant(id="asst_retried", object="assistant", model="echo")


async def test_unavailable_is_retried_with_one_idempotency_key() -> None:
    flaky = FlakyAssistants(failures=2)
    await flaky.server.start()
    try:
        policy = RetryPolicy(max_attempts=4, initial_backoff=0.05, max_backoff=0.2)
        connection = Connection(target=f"127.0.0.1:{flaky.port}", retry=policy, api_key="pk-test")
        async with Client(connection=connection) as client:
            assert (await client.create_assistant("echo")).id == "asst_retried"
        assert len(flaky.attempts) == 3
        keys = {attempt["idempotency-key"] for attempt in flaky.attempts}
        assert len(keys) == 1 and len(keys.pop()) == 32  # the same key on every attempt of one call
        assert {attempt["authorization"] for attempt in flaky.attempts} == {"Bearer pk-test"}
        # Each call has its own key; with no retries the first UNAVAILABLE is the answer.
        flaky.attempts.clear()
        flaky.failures = 1
        async with Client(connection=dataclasses.replace(connection, retry=None)) as client:
            with pytest.raises(PygenticError) as info:
                await client.create_assistant("echo")
            assert info.value.code == grpc.StatusCode.UNAVAILABLE and info.value.message == "restarting"
        assert len(flaky.attempts) == 1
    finally:
        await flaky.server.stop(None)


async def test_a_call_past_its_deadline_ends_deadline_exceeded() -> None:
    slow = FlakyAssistants(failures=0, delay=2.0)
    await slow.server.start()
    try:
        connection = Connection(target=f"127.0.0.1:{slow.port}", timeout=0.3)
        async with Client(connection=connection) as client:
            started = asyncio.get_running_loop().time()
            with pytest.raises(PygenticError) as info:
                await client.create_assistant("echo")
            assert info.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
            assert asyncio.get_running_loop().time() - started < 1.5
    finally:
        await slow.server.stop(None)


def test_the_python_example_answers_a_function_call(server: ThreadedServer) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "clients" / "python" / "stream_run.py"), "tools", "Weather in Paris?"],
        env={**os.environ, "PYGENTIC_GRPC": server.grpc_target},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == "completed"
    assert result["calls"] == [{"city": "Paris"}]
    assert result["text"] == 'Tool said: {"city": "Paris", "temperature_c": 21, "sky": "clear"}'
    assert result["events"][0] == "thread.run.created"
    assert "thread.run.requires_action" in result["events"]
    assert result["events"][-2:] == ["thread.run.completed", "done"]
    assert result["text"] in done.stderr  # printed as it streamed
