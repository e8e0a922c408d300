"""The file_search tool in runs: the SDK's streamed run searches the assistant's vector store, records a
file_search step, and the answer carries a file_citation; gRPC events and the thread's store too."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from conftest import connect, make_settings, running, with_files
from fake_upstream import FakeUpstream
from google.protobuf import struct_pb2
from runhelpers import collect, names
from threaded_server import ThreadedServer
from typing_extensions import override

from pygentic.config import Settings
from pygentic.proto.v1 import assistants_pb2, runs_pb2, threads_pb2
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.proto.v1 import vector_stores_pb2 as vpb
from pygentic.proto.v1 import vector_stores_pb2_grpc as vpb_grpc

FAQ = b"# Account help\n\nTo reset your password, open Settings and choose Security, then Reset password."
RIVERS = b"The Nile is the longest river in Africa."


def _settings(database_url: str, upstream: FakeUpstream, tmp_path: Path) -> Settings:
    return with_files(make_settings(database_url, upstream), tmp_path / "blobs")


@pytest.fixture
def client(tmp_path: Path, upstream: FakeUpstream) -> Iterator[openai.OpenAI]:
    with ThreadedServer(_settings(f"sqlite:///{tmp_path / 'fs.db'}", upstream, tmp_path)) as server:
        with openai.OpenAI(
            base_url=server.base_url, api_key="x", max_retries=0, _strict_response_validation=True
        ) as sdk:
            yield sdk


def _knowledge_base(client: openai.OpenAI) -> str:
    store = client.vector_stores.create(name="help")
    for name, data in (("faq.md", FAQ), ("rivers.txt", RIVERS)):
        client.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=(name, data), poll_interval_ms=50
        )
    return store.id


def test_streamed_run_searches_and_cites(client: openai.OpenAI) -> None:
    store_id = _knowledge_base(client)
    assistant = client.beta.assistants.create(
        model="search",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store_id]}},
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "How do I reset my password?"}])
    seen: list[str] = []

    class Handler(openai.AssistantEventHandler):
        @override
        def on_tool_call_created(self, tool_call: Any) -> None:
            seen.append(tool_call.type)

    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=Handler()
    ) as stream:
        stream.until_done()
        run = stream.get_final_run()
        messages = stream.get_final_messages()
    assert run.status == "completed" and seen == ["file_search"]
    text = messages[-1].content[0].text  # type: ignore[union-attr]
    assert "open Settings and choose Security" in text.value
    (citation,) = text.annotations
    assert citation.type == "file_citation" and citation.text in text.value
    assert text.value[citation.start_index : citation.end_index] == citation.text
    faq_id = next(f.id for f in client.files.list() if f.filename == "faq.md")
    assert citation.file_citation.file_id == faq_id  # type: ignore[union-attr]

    steps = list(client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc"))
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    call = steps[0].step_details.tool_calls[0]  # type: ignore[union-attr]
    assert call.type == "file_search" and call.file_search.results  # type: ignore[union-attr]
    assert call.file_search.results[0].file_id == faq_id  # type: ignore[union-attr]
    assert call.file_search.ranking_options.ranker == "default_2024_08_21"  # type: ignore[union-attr]
    assert not call.file_search.results[0].content  # type: ignore[union-attr]  # only when include[] asks
    content = "step_details.tool_calls[*].file_search.results[*].content"
    for step in (
        client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc", include=[content]).data[
            0
        ],
        client.beta.threads.runs.steps.retrieve(
            steps[0].id, thread_id=thread.id, run_id=run.id, include=[content]
        ),
    ):
        result = step.step_details.tool_calls[0].file_search.results[0]  # type: ignore[union-attr]
        assert result.content and "Security" in (result.content[0].text or "")
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, include=["step_details.nope"])  # type: ignore[list-item]
    stored = client.beta.threads.messages.retrieve(messages[-1].id, thread_id=thread.id)
    assert stored.content[0].text.annotations[0].file_citation.file_id == faq_id  # type: ignore[union-attr]


def test_without_stores_the_tool_is_not_offered(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    assistant = client.beta.assistants.create(model="echo", tools=[{"type": "file_search"}])
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "hi"}]}
    )
    assert run.status == "completed"
    sent = [r for r in upstream.requests if r.get("model") == "echo"][-1]
    assert "tools" not in sent


async def test_thread_store_over_grpc_with_step_events(
    database_url: str, upstream: FakeUpstream, tmp_path: Path
) -> None:
    async with running(_settings(database_url, upstream, tmp_path)) as app, connect(app) as stubs:
        stores = vpb_grpc.VectorStoresStub(stubs.channel)
        file_id = await stubs.upload(FAQ, "faq.md")
        store = await stores.CreateVectorStore(vpb.CreateVectorStoreRequest(file_ids=[file_id]))
        deadline = time.monotonic() + 60
        while (
            await stores.GetVectorStore(vpb.GetVectorStoreRequest(vector_store_id=store.id))
        ).status != "completed":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        assistant = await stubs.assistants.CreateAssistant(
            assistants_pb2.CreateAssistantRequest(model="search", tools=[res.Tool(type="file_search")])
        )
        thread = await stubs.threads.CreateThread(
            threads_pb2.CreateThreadRequest(
                messages=[
                    res.MessageInput(role="user", content=struct_pb2.Value(string_value="reset password?"))
                ],
                tool_resources=res.ToolResourcesInput(
                    file_search=res.FileSearchResourcesInput(vector_store_ids=[store.id])
                ),
            )
        )
        events = await collect(
            stubs.runs.StreamRun(runs_pb2.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id))
        )
        assert names(events)[-2:] == ["thread.run.completed", "done"]
        deltas = [e.run_step_delta for e in events if e.event == "thread.run.step.delta"]
        assert len(deltas) == 1  # the call's type and id; the model's arguments are not streamed
        call = deltas[0].delta.step_details.tool_calls[0]
        assert call.type == "file_search" and call.id == "call_search0" and call.HasField("file_search")
        completed = [e.run_step for e in events if e.event == "thread.run.step.completed"]
        assert completed[0].step_details.tool_calls[0].file_search.results[0].file_id == file_id
        final = [e.message for e in events if e.event == "thread.message.completed"][-1]
        assert final.content[0].text.annotations[0].file_citation.file_id == file_id


def test_message_attachments_fill_the_threads_own_store(client: openai.OpenAI) -> None:
    faq = client.files.create(file=("faq.md", FAQ), purpose="assistants")
    assistant = client.beta.assistants.create(model="search", tools=[{"type": "file_search"}])
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(
        thread.id,
        role="user",
        content="How do I reset my password?",
        attachments=[{"file_id": faq.id, "tools": [{"type": "file_search"}]}],
    )
    thread = client.beta.threads.retrieve(thread.id)
    (store_id,) = thread.tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
    store = client.vector_stores.retrieve(store_id)
    assert store.expires_after is not None and store.expires_after.days == 7
    deadline = time.monotonic() + 60
    while client.vector_stores.retrieve(store_id).file_counts.completed < 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50
    )
    assert run.status == "completed"
    answer = client.beta.threads.messages.list(thread.id).data[0].content[0].text  # type: ignore[union-attr]
    assert "Reset password" in answer.value and answer.annotations[0].file_citation.file_id == faq.id  # type: ignore[union-attr]
    # A second attachment joins the same store; code_interpreter-only attachments do not.
    more = client.files.create(file=("rivers.txt", RIVERS), purpose="assistants")
    client.beta.threads.messages.create(
        thread.id,
        role="user",
        content="and rivers?",
        attachments=[{"file_id": more.id, "tools": [{"type": "file_search"}]}],
    )
    client.beta.threads.messages.create(
        thread.id,
        role="user",
        content="x",
        attachments=[{"file_id": more.id, "tools": [{"type": "code_interpreter"}]}],
    )
    assert client.vector_stores.retrieve(store_id).file_counts.total == 2
    assert client.beta.threads.retrieve(thread.id).tool_resources.file_search.vector_store_ids == [store_id]  # type: ignore[union-attr]


def test_inline_vector_store_helpers(client: openai.OpenAI) -> None:
    faq = client.files.create(file=("faq.md", FAQ), purpose="assistants")
    assistant = client.beta.assistants.create(
        model="search",
        tools=[{"type": "file_search"}],
        tool_resources={
            "file_search": {"vector_stores": [{"file_ids": [faq.id], "metadata": {"kb": "help"}}]}
        },
    )
    (store_id,) = assistant.tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
    store = client.vector_stores.retrieve(store_id)
    assert store.metadata == {"kb": "help"} and store.file_counts.total == 1
    deadline = time.monotonic() + 60
    while client.vector_stores.retrieve(store_id).file_counts.completed < 1:  # ingested in the background
        assert time.monotonic() < deadline
        time.sleep(0.05)
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "How do I reset my password?"}]},
        poll_interval_ms=50,
    )
    assert run.status == "completed"
    answer = client.beta.threads.messages.list(run.thread_id).data[0].content[0].text  # type: ignore[union-attr]
    assert answer.annotations and answer.annotations[0].file_citation.file_id == faq.id  # type: ignore[union-attr]

    thread = client.beta.threads.create(
        tool_resources={"file_search": {"vector_stores": [{"file_ids": [faq.id]}]}}  # type: ignore[typeddict-item]
    )
    assert thread.tool_resources.file_search.vector_store_ids[0].startswith("vs_")  # type: ignore[union-attr]
    with pytest.raises(openai.NotFoundError) as info:
        client.beta.threads.create(
            tool_resources={"file_search": {"vector_stores": [{"file_ids": ["file-nope"]}]}}
        )  # type: ignore[typeddict-item]
    assert info.value.body["param"] == "tool_resources.file_search.vector_stores[0].file_ids[0]"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError):
        client.beta.threads.create(
            tool_resources={
                "file_search": {"vector_store_ids": [store_id], "vector_stores": [{"file_ids": []}]}
            }  # type: ignore[typeddict-item]
        )


def test_a_client_function_named_file_search_stays_the_clients(client: openai.OpenAI) -> None:
    function = {"type": "function", "function": {"name": "file_search", "parameters": {"type": "object"}}}
    assistant = client.beta.assistants.create(model="tools", tools=[function])  # type: ignore[list-item]
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "x"}]},
        poll_interval_ms=50,
    )
    assert run.status == "requires_action"
    assert run.required_action.submit_tool_outputs.tool_calls[0].function.name == "file_search"  # type: ignore[union-attr]
