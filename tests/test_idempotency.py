"""Idempotent retries: the same Idempotency-Key (REST) or idempotency-key metadata (gRPC) with the same
request gets the first answer, and creates nothing more; on one server and across replicas."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import grpc
import httpx
import openai
import pytest
from conftest import make_settings, sdk_of
from fake_upstream import FakeUpstream
from threaded_server import ThreadedServer

from pygentic.config import Settings
from pygentic.proto.v1 import (
    chat_pb2,
    chat_pb2_grpc,
    responses_pb2,
    responses_pb2_grpc,
    runs_pb2,
    runs_pb2_grpc,
)


@pytest.fixture
def server(tmp_path: Path, upstream: FakeUpstream) -> Iterator[ThreadedServer]:
    with ThreadedServer(make_settings(f"sqlite:///{tmp_path / 'i.db'}", upstream)) as running:
        yield running


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"test-{uuid.uuid4()}"}


def test_a_retried_create_returns_the_first_object(server: ThreadedServer) -> None:
    client = sdk_of(server)
    assistant = client.beta.assistants.create(model="echo")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "once"}])
    headers = key()
    first = client.beta.threads.runs.with_raw_response.create(
        thread_id=thread.id, assistant_id=assistant.id, extra_headers=headers
    )
    again = client.beta.threads.runs.with_raw_response.create(
        thread_id=thread.id, assistant_id=assistant.id, extra_headers=headers
    )
    assert again.parse().id == first.parse().id and again.http_response.content == first.http_response.content
    assert again.headers.get("idempotent-replayed") == "true" and "idempotent-replayed" not in first.headers
    client.beta.threads.runs.poll(first.parse().id, thread_id=thread.id)
    assert [r.id for r in client.beta.threads.runs.list(thread.id).data] == [first.parse().id]
    # Objects of every kind: one thread for two keyed creates.
    created = [
        client.beta.threads.create(extra_headers=headers | {"Idempotency-Key": "t-1"}) for _ in range(2)
    ]
    assert created[0].id == created[1].id


def test_the_same_key_for_another_request_is_a_conflict(server: ThreadedServer) -> None:
    client = sdk_of(server)
    headers = key()
    client.beta.assistants.create(model="echo", extra_headers=headers)
    with pytest.raises(openai.ConflictError) as info:
        client.beta.assistants.create(model="echo", name="another", extra_headers=headers)
    assert info.value.status_code == 409 and "different request" in info.value.message
    assert info.value.body["param"] == "Idempotency-Key"  # type: ignore[index]
    assert len(client.beta.assistants.list().data) == 1


def test_a_request_whose_connection_died_after_the_commit_is_answered_on_retry(
    server: ThreadedServer,
) -> None:
    client = sdk_of(server)
    assistant = client.beta.assistants.create(model="echo")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "lost answer"}])
    headers = key()
    body = f'{{"assistant_id": "{assistant.id}"}}'.encode()
    url = urlsplit(server.base_url)
    with socket.create_connection((url.hostname, url.port)) as raw:  # send, then hang up unread
        raw.sendall(
            f"POST {url.path}/threads/{thread.id}/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Idempotency-Key: {headers['Idempotency-Key']}\r\n\r\n".encode()
            + body
        )
    deadline = time.monotonic() + 10
    while not client.beta.threads.runs.list(thread.id).data:  # the server went on and committed it
        assert time.monotonic() < deadline, "the first attempt never created its run"
        time.sleep(0.05)
    retried = client.beta.threads.runs.create(
        thread_id=thread.id, assistant_id=assistant.id, extra_headers=headers
    )
    runs = client.beta.threads.runs.list(thread.id).data
    assert [r.id for r in runs] == [retried.id]


def test_an_error_is_not_kept_so_a_retry_runs_again(server: ThreadedServer) -> None:
    client = sdk_of(server)
    assistant = client.beta.assistants.create(model="words:20:0.05")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
    busy = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    headers = key()
    with pytest.raises(openai.BadRequestError):  # the thread has an active run
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id, extra_headers=headers)
    client.beta.threads.runs.poll(busy.id, thread_id=thread.id)
    retried = client.beta.threads.runs.create(
        thread_id=thread.id, assistant_id=assistant.id, extra_headers=headers
    )
    assert retried.id != busy.id and len(client.beta.threads.runs.list(thread.id).data) == 2


def test_a_retried_stream_follows_the_first_run(server: ThreadedServer) -> None:
    client = sdk_of(server)
    assistant = client.beta.assistants.create(model="echo:0.05")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "stream me twice"}])
    headers = key()
    first = list(
        client.beta.threads.runs.create(
            thread_id=thread.id, assistant_id=assistant.id, stream=True, extra_headers=headers
        )
    )
    again = list(
        client.beta.threads.runs.create(
            thread_id=thread.id, assistant_id=assistant.id, stream=True, extra_headers=headers
        )
    )
    run_id = first[0].data.id
    assert again[-1].event == "thread.run.completed" and again[-1].data.id == run_id
    assert [r.id for r in client.beta.threads.runs.list(thread.id).data] == [run_id]


def test_grpc_metadata_key(server: ThreadedServer) -> None:
    client = sdk_of(server)
    assistant = client.beta.assistants.create(model="echo")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "grpc"}])
    metadata = (("idempotency-key", f"grpc-{uuid.uuid4()}"),)
    request = runs_pb2.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id)
    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = runs_pb2_grpc.RunsStub(channel)
        first = stub.CreateRun(request, metadata=metadata)
        again, call = stub.CreateRun.with_call(request, metadata=metadata)
        assert again == first
        assert ("idempotent-replayed", "true") in tuple(call.trailing_metadata() or ())
        other = runs_pb2.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id, instructions="x")
        with pytest.raises(grpc.RpcError) as info:
            stub.CreateRun(other, metadata=metadata)
        assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
        assert "different request" in (info.value.details() or "")
    assert [r.id for r in client.beta.threads.runs.list(thread.id).data] == [first.id]


@pytest.mark.postgres
def test_a_retry_reaching_another_replica_gets_the_first_answer(
    pg_database: str, upstream: FakeUpstream
) -> None:
    from conftest import _reset_pg

    _reset_pg(pg_database)
    settings: Settings = make_settings(pg_database, upstream)
    with ThreadedServer(settings) as one, ThreadedServer(settings) as two:
        first_client, second_client = sdk_of(one), sdk_of(two)
        headers = key()
        made = first_client.beta.threads.create(extra_headers=headers)
        retried = second_client.beta.threads.create(extra_headers=headers)
        assert retried.id == made.id
        raw = httpx.post(f"{two.base_url}/threads", json={"metadata": {"a": "b"}}, headers=headers)
        assert raw.status_code == 409


def test_a_retried_grpc_stream_follows_the_first_run(server: ThreadedServer) -> None:
    client = sdk_of(server)
    assistant = client.beta.assistants.create(model="echo:0.05")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "grpc stream twice"}])
    metadata = (("idempotency-key", f"grpc-stream-{uuid.uuid4()}"),)
    request = runs_pb2.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id)
    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = runs_pb2_grpc.RunsStub(channel)
        first = list(stub.StreamRun(request, metadata=metadata))
        again = list(stub.StreamRun(request, metadata=metadata))
    run_id = first[0].run.id
    assert first[-2].event == again[-2].event == "thread.run.completed"
    assert again[-2].run.id == run_id and again[-1].event == "done"
    assert [r.id for r in client.beta.threads.runs.list(thread.id).data] == [run_id]


def test_grpc_streams_that_name_no_run_serve_a_keyed_call(server: ThreadedServer) -> None:
    """A keyed StreamResponse or StreamChatCompletion is answered in full (these streams are not kept for
    replay: only run-event streams are), never an internal error."""
    with grpc.insecure_channel(server.grpc_target) as channel:
        response = responses_pb2.CreateResponseRequest(model="echo")
        response.input.string_value = "keyed"
        chat = chat_pb2.CreateChatCompletionRequest(
            model="echo", messages=[chat_pb2.ChatMessage(role="user")]
        )
        chat.messages[0].content.string_value = "keyed"
        metadata = (("idempotency-key", uuid.uuid4().hex),)
        for _ in range(2):  # the key is free again after each answer
            events = list(
                responses_pb2_grpc.ResponsesStub(channel).StreamResponse(
                    response, metadata=metadata, timeout=10
                )
            )
            assert events[-1].type == "response.completed"
            assert events[-1].response.output[0].content[0].text == "Echo: keyed"
            chunks = list(
                chat_pb2_grpc.ChatCompletionsStub(channel).StreamChatCompletion(
                    chat, metadata=metadata, timeout=10
                )
            )
            assert "".join(c.choices[0].delta.content for c in chunks if c.choices) == "Echo: keyed"
