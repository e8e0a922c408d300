"""The REST gateway driven by the official `openai` Python SDK (strict response validation on)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import openai
import pytest
from conftest import make_settings
from fake_upstream import FakeUpstream
from google.protobuf import json_format
from threaded_server import ThreadedServer
from typing_extensions import override

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

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
RUN_KEYS = {
    "id",
    "object",
    "created_at",
    "thread_id",
    "assistant_id",
    "status",
    "required_action",
    "last_error",
    "expires_at",
    "started_at",
    "cancelled_at",
    "failed_at",
    "completed_at",
    "model",
    "instructions",
    "tools",
    "metadata",
    "usage",
    "incomplete_details",
    "max_prompt_tokens",
    "max_completion_tokens",
    "truncation_strategy",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
}


@pytest.fixture
def server(tmp_path: Path, upstream: FakeUpstream) -> Iterator[ThreadedServer]:
    settings = make_settings(f"sqlite:///{tmp_path / 'gw.db'}", upstream)
    with ThreadedServer(settings, keepalive=0.3) as running:
        yield running


@pytest.fixture
def client(server: ThreadedServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=server.base_url, api_key="not-needed", max_retries=0, _strict_response_validation=True
    ) as sdk:
        yield sdk


def test_assistant_crud_and_auto_pagination(client: openai.OpenAI) -> None:
    created = [
        client.beta.assistants.create(model="echo", name=f"a{i}", metadata={"i": str(i)}) for i in range(45)
    ]
    ids = [a.id for a in created]
    assert [a.id for a in client.beta.assistants.list(limit=10, order="asc")] == ids
    assert [a.id for a in client.beta.assistants.list(limit=7)] == ids[::-1]
    first_page = client.beta.assistants.list(limit=20, order="asc")
    assert first_page.has_more and first_page.first_id == ids[0] and first_page.last_id == ids[19]

    got = client.beta.assistants.retrieve(ids[3])
    assert got == created[3] and got.name == "a3" and got.description is None
    updated = client.beta.assistants.update(ids[3], name="renamed", tools=[WEATHER], temperature=0.5)
    assert updated.name == "renamed" and updated.tools[0].type == "function" and updated.temperature == 0.5
    assert updated.tools[0].function.name == "get_weather"  # type: ignore[union-attr]
    cleared = client.beta.assistants.update(ids[3], tools=[])
    assert cleared.tools == [] and cleared.name == "renamed"
    deleted = client.beta.assistants.delete(ids[3])
    assert deleted.deleted and deleted.id == ids[3] and deleted.object == "assistant.deleted"
    with pytest.raises(openai.NotFoundError) as info:
        client.beta.assistants.retrieve(ids[3])
    assert ids[3] in info.value.message


def test_not_found_and_bad_request_envelopes(client: openai.OpenAI, server: ThreadedServer) -> None:
    for call in (
        lambda: client.beta.threads.retrieve("thread_nope"),
        lambda: client.beta.threads.messages.retrieve("msg_nope", thread_id="thread_nope"),
        lambda: client.beta.threads.runs.retrieve("run_nope", thread_id="thread_nope"),
    ):
        with pytest.raises(openai.NotFoundError) as info:
            call()
        assert info.value.status_code == 404 and "_nope" in info.value.message
    with pytest.raises(openai.BadRequestError) as bad:
        client.beta.assistants.create(model="m", metadata={str(i): "v" for i in range(17)})
    assert bad.value.param == "metadata"  # type: ignore[attr-defined]

    raw = httpx.get(f"{server.base_url}/assistants", params={"limit": "many"})
    assert raw.status_code == 400
    assert set(raw.json()["error"]) == {"message", "type", "param", "code"}
    raw = httpx.post(f"{server.base_url}/assistants", json={"model": "m", "nonsense": True})
    assert raw.status_code == 400 and raw.json()["error"]["param"] == "nonsense"
    raw = httpx.get(f"{server.base_url.removesuffix('/v1')}/v1/nothing-here")
    assert raw.status_code == 404 and raw.json()["error"]["type"] == "invalid_request_error"


def test_threads_messages_and_create_and_poll(client: openai.OpenAI, server: ThreadedServer) -> None:
    assistant = client.beta.assistants.create(model="echo", instructions="Be brief.")
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "first question"}], metadata={"k": "v"}
    )
    assert thread.metadata == {"k": "v"} and thread.tool_resources is None
    message = client.beta.threads.messages.create(thread.id, role="user", content="What is 6 times 7?")
    assert message.content[0].text.value == "What is 6 times 7?"  # type: ignore[union-attr]
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed" and run.usage is not None and run.usage.total_tokens > 0
    messages = client.beta.threads.messages.list(thread.id, order="asc")
    assert [m.role for m in messages] == ["user", "user", "assistant"]
    answer = messages.data[-1]
    assert answer.content[0].text.value == "Echo: What is 6 times 7?"  # type: ignore[union-attr]
    assert answer.run_id == run.id and answer.assistant_id == assistant.id
    by_run = client.beta.threads.messages.list(thread.id, run_id=run.id)
    assert [m.id for m in by_run] == [answer.id]

    raw = httpx.get(f"{server.base_url}/threads/{thread.id}/runs/{run.id}")
    assert set(raw.json()) >= RUN_KEYS and raw.headers["openai-poll-after-ms"] == "200"
    assert isinstance(raw.json()["created_at"], int) and raw.json()["last_error"] is None

    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id)
    assert [s.type for s in steps] == ["message_creation"]
    step = client.beta.threads.runs.steps.retrieve(steps.data[0].id, thread_id=thread.id, run_id=run.id)
    assert step.step_details.message_creation.message_id == answer.id  # type: ignore[union-attr]

    updated = client.beta.threads.messages.update(answer.id, thread_id=thread.id, metadata={"seen": "yes"})
    assert updated.metadata == {"seen": "yes"}
    assert client.beta.threads.update(thread.id, metadata={"k2": "v2"}).metadata == {"k2": "v2"}
    assert client.beta.threads.runs.update(run.id, thread_id=thread.id, metadata={"r": "1"}).metadata == {
        "r": "1"
    }
    assert client.beta.threads.messages.delete(answer.id, thread_id=thread.id).deleted
    assert client.beta.threads.delete(thread.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.list(thread.id)


class Collector(openai.AssistantEventHandler):
    """Collects what the SDK's stream helper reports."""

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.created: list[str] = []
        self.tool_calls: list[Any] = []
        self.tool_arguments = ""

    @override
    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.text += delta.value or ""

    @override
    def on_text_created(self, text: Any) -> None:
        self.created.append("text")

    @override
    def on_tool_call_created(self, tool_call: Any) -> None:
        self.tool_calls.append(tool_call)

    @override
    def on_tool_call_delta(self, delta: Any, snapshot: Any) -> None:
        if delta.type == "function" and delta.function and delta.function.arguments:
            self.tool_arguments += delta.function.arguments


def test_runs_stream_with_an_event_handler(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="echo")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "stream me please"}])
    handler = Collector()
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=handler
    ) as stream:
        stream.until_done()
    assert handler.text == "Echo: stream me please" and handler.created == ["text"]
    run = handler.get_final_run()
    assert run.status == "completed"
    (final,) = handler.get_final_messages()
    stored = client.beta.threads.messages.retrieve(final.id, thread_id=thread.id)
    assert stored.content[0].text.value == handler.text  # type: ignore[union-attr]


def test_function_tools_poll_and_stream(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="tools", tools=[WEATHER])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Weather in Paris?"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action" and run.required_action is not None
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "sunny"}]
    )
    assert run.status == "completed"
    assert client.beta.threads.messages.list(thread.id).data[0].content[0].text.value == "Tool said: sunny"  # type: ignore[union-attr]

    client.beta.threads.messages.create(thread.id, role="user", content="And tomorrow?")
    handler = Collector()
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=handler
    ) as stream:
        stream.until_done()
    waiting = handler.get_final_run()
    assert waiting.status == "requires_action"
    assert [c.id for c in handler.tool_calls] == ["call_fake0"] and handler.tool_calls[
        0
    ].function.name == "get_weather"
    assert json.loads(handler.tool_arguments) == {"city": "Paris"}
    after = Collector()
    with client.beta.threads.runs.submit_tool_outputs_stream(
        run_id=waiting.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": "call_fake0", "output": "rain"}],
        event_handler=after,
    ) as stream:
        stream.until_done()
    assert after.text == "Tool said: rain" and after.get_final_run().status == "completed"


def test_create_and_run_poll_and_stream(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="echo")
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "new thread"}]}
    )
    assert run.status == "completed"
    assert (
        client.beta.threads.messages.list(run.thread_id).data[0].content[0].text.value == "Echo: new thread"
    )  # type: ignore[union-attr]
    handler = Collector()
    with client.beta.threads.create_and_run_stream(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "streamed thread"}]},
        event_handler=handler,
    ) as stream:
        stream.until_done()
    assert handler.text == "Echo: streamed thread"


def test_cancel_and_message_while_active(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="words:200:0.05")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "long answer"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.threads.messages.create(thread.id, role="user", content="interrupt")
    assert run.id in info.value.message
    cancelling = client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert cancelling.status == "cancelling"
    final = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert final.status == "cancelled" and final.cancelled_at is not None


def _sse_lines(
    server: ThreadedServer, path: str, body: dict[str, Any], stop_after: str | None = None
) -> list[str]:
    lines: list[str] = []
    with httpx.stream("POST", f"{server.base_url}{path}", json=body, timeout=30) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "text/event-stream"
        )
        for line in response.iter_lines():
            lines.append(line)
            if stop_after and line == f"event: {stop_after}":
                break
    return lines


def test_sse_wire_format_keepalives_and_disconnect(client: openai.OpenAI, server: ThreadedServer) -> None:
    assistant = client.beta.assistants.create(model="echo:0.4")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "a b"}])
    lines = _sse_lines(server, f"/threads/{thread.id}/runs", {"assistant_id": assistant.id, "stream": True})
    assert not any(line.startswith("id:") for line in lines)
    assert ": keep-alive" in lines  # 0.4 s between chunks, 0.3 s keep-alive interval
    events = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
    data = [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]
    assert len(events) == len(data) and events[-1] == "done" and data[-1] == "[DONE]"
    assert events.index("thread.message.created") < events.index("thread.message.delta")
    delta = json.loads(data[events.index("thread.message.delta")])
    assert delta["object"] == "thread.message.delta" and delta["delta"]["content"][0]["index"] == 0

    # Leaving mid-stream does not stop the run.
    thread2 = client.beta.threads.create(messages=[{"role": "user", "content": "one two three four"}])
    _sse_lines(
        server,
        f"/threads/{thread2.id}/runs",
        {"assistant_id": assistant.id, "stream": True},
        stop_after="thread.message.delta",
    )
    run = client.beta.threads.runs.list(thread2.id).data[0]
    assert client.beta.threads.runs.poll(run.id, thread_id=thread2.id).status == "completed"

    failed = client.beta.assistants.create(model="fail500")
    thread3 = client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
    lines = _sse_lines(server, f"/threads/{thread3.id}/runs", {"assistant_id": failed.id, "stream": True})
    events = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
    assert events[-2:] == ["thread.run.failed", "done"]
    run_json = json.loads([line for line in lines if line.startswith("data: ")][-2].removeprefix("data: "))
    assert run_json["last_error"]["code"] == "server_error"

    bad = httpx.post(
        f"{server.base_url}/threads/{thread3.id}/runs", json={"assistant_id": "asst_x", "stream": True}
    )
    assert bad.status_code == 404 and bad.json()["error"]["param"] == "assistant_id"


def _normalize(value: Any, key: str = "") -> Any:
    """JSON without nulls and empty containers, and 64-bit integers (protobuf JSON writes them as strings)
    as numbers: the common ground of the two doors."""
    if isinstance(value, dict):
        out = {k: _normalize(v, k) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, str) and value.isdigit() and key.endswith(("_at", "_tokens")):
        return int(value)
    return value


def test_parity_between_grpc_and_rest(client: openai.OpenAI, server: ThreadedServer) -> None:
    with grpc.insecure_channel(server.grpc_target) as channel:
        assistants = assistants_pb2_grpc.AssistantsStub(channel)
        threads = threads_pb2_grpc.ThreadsStub(channel)
        via_grpc = assistants.CreateAssistant(
            json_format.ParseDict(
                {
                    "model": "echo",
                    "name": "g",
                    "tools": [WEATHER],
                    "metadata": {"a": "b"},
                    "temperature": 0.25,
                },
                assistants_pb2.CreateAssistantRequest(),
            )
        )
        rest_view = httpx.get(f"{server.base_url}/assistants/{via_grpc.id}").json()
        assert _normalize(rest_view) == _normalize(
            json_format.MessageToDict(via_grpc, preserving_proto_field_name=True)
        )

        via_rest = client.beta.assistants.create(model="echo", name="r", instructions="x", tools=[WEATHER])
        grpc_view = assistants.GetAssistant(assistants_pb2.GetAssistantRequest(assistant_id=via_rest.id))
        assert _normalize(
            json_format.MessageToDict(grpc_view, preserving_proto_field_name=True)
        ) == _normalize(httpx.get(f"{server.base_url}/assistants/{via_rest.id}").json())

        thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}], metadata={"t": "1"})
        grpc_thread = threads.GetThread(threads_pb2.GetThreadRequest(thread_id=thread.id))
        assert _normalize(
            json_format.MessageToDict(grpc_thread, preserving_proto_field_name=True)
        ) == _normalize(thread.model_dump())

        messages = messages_pb2_grpc.MessagesStub(channel)
        created = messages.CreateMessage(
            json_format.ParseDict(
                {
                    "thread_id": thread.id,
                    "role": "user",
                    "content": [{"type": "text", "text": "parts"}],
                    "metadata": {"m": "1"},
                },
                messages_pb2.CreateMessageRequest(),
            )
        )
        rest_message = httpx.get(f"{server.base_url}/threads/{thread.id}/messages/{created.id}").json()
        assert _normalize(rest_message) == _normalize(
            json_format.MessageToDict(created, preserving_proto_field_name=True)
        )

        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=via_rest.id)
        runs = runs_pb2_grpc.RunsStub(channel)
        grpc_run = runs.GetRun(runs_pb2.GetRunRequest(thread_id=thread.id, run_id=run.id))
        assert _normalize(
            json_format.MessageToDict(grpc_run, preserving_proto_field_name=True)
        ) == _normalize(httpx.get(f"{server.base_url}/threads/{thread.id}/runs/{run.id}").json())
        step = runs.ListRunSteps(runs_pb2.ListRunStepsRequest(thread_id=thread.id, run_id=run.id)).data[0]
        rest_steps = httpx.get(f"{server.base_url}/threads/{thread.id}/runs/{run.id}/steps").json()
        assert _normalize(rest_steps["data"][0]) == _normalize(
            json_format.MessageToDict(step, preserving_proto_field_name=True)
        )


def test_docs_and_their_examples(client: openai.OpenAI, server: ThreadedServer) -> None:
    root = server.base_url.removesuffix("/v1")
    page = httpx.get(f"{root}/docs")
    assert page.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in page.text
    assert "cdn.jsdelivr" not in page.text and "https://" not in page.text.split("<body>")[0]  # works offline
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"):
        assert httpx.get(f"{root}/docs-assets/{asset}").status_code == 200
    spec = httpx.get(f"{root}/openapi.json").json()
    assistant = client.beta.assistants.create(model="echo")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hello"}])
    message = client.beta.threads.messages.list(thread.id).data[0]
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    tool_assistant = client.beta.assistants.create(model="tools", tools=[WEATHER])
    tool_thread = client.beta.threads.create(messages=[{"role": "user", "content": "weather?"}])
    waiting = client.beta.threads.runs.create_and_poll(
        thread_id=tool_thread.id, assistant_id=tool_assistant.id
    )
    document = client.files.create(
        file=("faq.md", b"# FAQ\n\nReset your password in Settings."), purpose="assistants"
    )
    store = client.vector_stores.create(name="docs", file_ids=[document.id])
    ids = {"asst_abc123": assistant.id, "call_abc123": "call_fake0", "file-abc123": document.id}
    params = {
        "assistant_id": assistant.id,
        "thread_id": thread.id,
        "message_id": message.id,
        "run_id": run.id,
        "vector_store_id": store.id,
        "file_id": document.id,
        "conversation_id": thread.id,  # a conversation is a thread
    }
    checked = 0
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            body = operation.get("requestBody")
            if method != "post" or body is None or "application/json" not in body["content"]:
                continue  # (a file upload is multipart, tested in test_files.py)
            examples = body["content"]["application/json"].get("examples")
            assert examples, f"POST {path} has no example body"
            for example in examples.values():
                payload = json.loads(json.dumps(example["value"]))
                text = json.dumps(payload)
                for placeholder, real in ids.items():
                    text = text.replace(placeholder, real)
                url_params = dict(params)
                if path.endswith("submit_tool_outputs"):
                    url_params.update(thread_id=tool_thread.id, run_id=waiting.id)
                url = root + path.format(**url_params)
                response = httpx.post(url, content=text, headers={"content-type": "application/json"})
                assert response.status_code == 200, (path, response.text)
                checked += 1
                if "runs" in path:  # let the run end before the next example starts one on the thread
                    time.sleep(0.5)
    assert checked >= 9


def test_healthz(server: ThreadedServer) -> None:
    assert httpx.get(server.base_url.removesuffix("/v1") + "/healthz").json() == {"status": "ok"}


def test_concurrent_sdk_clients(client: openai.OpenAI) -> None:
    assistant = client.beta.assistants.create(model="echo")
    results: list[str] = []

    def one(i: int) -> None:
        thread = client.beta.threads.create(messages=[{"role": "user", "content": f"client {i}"}])
        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        assert run.status == "completed"
        results.append(client.beta.threads.messages.list(thread.id).data[0].content[0].text.value)  # type: ignore[union-attr]

    workers = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(results) == sorted(f"Echo: client {i}" for i in range(8))
