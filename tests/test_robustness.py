"""Hostile and broken input: nothing that cannot be read back is stored, nothing answers 5xx / UNKNOWN,
and errors are short, name the field and leak nothing internal (issue 8, defects 1, 2, 7, 8)."""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import openai
import pytest
from conftest import PYGENTIC, make_settings
from fake_upstream import FakeUpstream
from google.protobuf import struct_pb2
from sqlalchemy import text
from threaded_server import ThreadedServer

from pygentic.config import ServerSettings
from pygentic.proto.v1 import (
    assistants_pb2,
    assistants_pb2_grpc,
    messages_pb2,
    messages_pb2_grpc,
    threads_pb2,
    threads_pb2_grpc,
)
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.storage.tables import AssistantRow

LIMIT_BYTES = 1024 * 1024


def deep_schema(levels: int) -> dict[str, Any]:
    """A JSON Schema with ``levels`` nested object properties (2 JSON levels each, plus the root)."""
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"x": schema}}
    return schema


def tool(parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": "f", "parameters": parameters}}


@pytest.fixture
def server(tmp_path: Path, upstream: FakeUpstream) -> Iterator[ThreadedServer]:
    settings = make_settings(f"sqlite:///{tmp_path / 'r.db'}", upstream)
    settings = dataclasses.replace(settings, server=ServerSettings(max_request_bytes=LIMIT_BYTES))
    with ThreadedServer(settings) as running:
        yield running


@pytest.fixture
def client(server: ThreadedServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0) as sdk:
        yield sdk


@pytest.fixture
def http(server: ThreadedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as c:
        yield c


@pytest.fixture
def channel(server: ThreadedServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.grpc_target) as ch:
        yield ch


def assert_400(response: httpx.Response, param: str | None = None) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert len(error["message"]) <= 1000
    if param is not None:
        assert error["param"] == param, error
    return error


def count_rows(server: ThreadedServer, table: str) -> int:
    async def count() -> int:
        async with server.app.db.read() as session:
            return int((await session.exec(text(f"SELECT count(*) FROM {table}"))).one()[0])  # type: ignore[call-overload]

    return int(server.call(count()))


# ----------------------------------------------------------------------------- defect 1: poison assistant


def test_deep_tool_schema_is_refused_and_nothing_is_stored(
    client: openai.OpenAI, http: httpx.Client, channel: grpc.Channel, server: ThreadedServer
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.assistants.create(model="echo", tools=[tool(deep_schema(20))])  # type: ignore[list-item]
    assert "nested more than 28 levels" in info.value.message
    assert info.value.body["param"].startswith("tools[0].function.parameters")  # type: ignore[index]

    stub = assistants_pb2_grpc.AssistantsStub(channel)
    params = struct_pb2.Struct()
    params.update(deep_schema(14))  # 29 levels: decodable, but deeper than Pygentic stores
    request = assistants_pb2.CreateAssistantRequest(
        model="echo",
        tools=[res.Tool(type="function", function=res.FunctionDefinition(name="f", parameters=params))],
    )
    with pytest.raises(grpc.RpcError) as rpc:
        stub.CreateAssistant(request)
    assert rpc.value.code() == grpc.StatusCode.INVALID_ARGUMENT, rpc.value.details()
    assert "tools[0].function.parameters" in (rpc.value.details() or "")

    assert count_rows(server, "assistants") == 0
    assert http.get("/assistants").status_code == 200
    assert stub.ListAssistants(assistants_pb2.ListAssistantsRequest()).data == []

    # An update cannot poison an existing assistant either.
    good = client.beta.assistants.create(model="echo", tools=[tool(deep_schema(3))])  # type: ignore[list-item]
    assert_400(http.post(f"/assistants/{good.id}", json={"tools": [tool(deep_schema(20))]}))
    assert client.beta.assistants.retrieve(good.id).tools[0].function.parameters == deep_schema(3)  # type: ignore[union-attr]


def test_nan_and_infinity_are_invalid(http: httpx.Client, channel: grpc.Channel) -> None:
    body = (
        '{"model": "echo", "tools": [{"type": "function", "function": {"name": "f", "parameters": '
        '{"type": "object", "properties": {"a": {"type": "number", "maximum": NaN}}}}}]}'
    )
    response = http.post("/assistants", content=body, headers={"content-type": "application/json"})
    error = assert_400(response)
    assert "finite" in error["message"]
    response = http.post(
        "/assistants",
        content='{"model": "echo", "response_format": Infinity}',
        headers={"content-type": "application/json"},
    )
    assert_400(response)

    value = struct_pb2.Value(number_value=float("nan"))
    with pytest.raises(grpc.RpcError) as rpc:
        assistants_pb2_grpc.AssistantsStub(channel).CreateAssistant(
            assistants_pb2.CreateAssistantRequest(model="echo", response_format=value)
        )
    assert rpc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "response_format" in (rpc.value.details() or "")


# ----------------------------------------------------------------------------- defect 2: poison run


def test_deep_run_overrides_are_refused_and_the_thread_stays_usable(
    client: openai.OpenAI, http: httpx.Client, server: ThreadedServer
) -> None:
    assistant = client.beta.assistants.create(model="echo")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    assert_400(
        http.post(
            f"/threads/{thread.id}/runs",
            json={"assistant_id": assistant.id, "tools": [tool(deep_schema(20))]},
        )
    )
    response_format = {"type": "json_schema", "json_schema": {"name": "x", "schema": deep_schema(20)}}
    error = assert_400(
        http.post(
            f"/threads/{thread.id}/runs",
            json={"assistant_id": assistant.id, "response_format": response_format},
        )
    )
    assert error["param"].startswith("response_format")
    assert_400(
        http.post("/threads/runs", json={"assistant_id": assistant.id, "tools": [tool(deep_schema(20))]})
    )
    assert count_rows(server, "runs") == 0
    assert http.get(f"/threads/{thread.id}/runs").json()["data"] == []
    client.beta.threads.messages.create(thread.id, role="user", content="still usable")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    assert client.beta.threads.delete(thread.id).deleted


# ----------------------------------------------------------------------------- defect 7: unbounded input


def test_invalid_json_schemas_are_refused(http: httpx.Client) -> None:
    error = assert_400(
        http.post("/assistants", json={"model": "echo", "tools": [tool({"type": "nonsense"})]})
    )
    assert error["param"].startswith("tools[0].function.parameters")
    assert "not a valid JSON Schema" in error["message"]
    response_format = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": 5}}}
    error = assert_400(http.post("/assistants", json={"model": "echo", "response_format": response_format}))
    assert error["param"].startswith("response_format.json_schema.schema")
    assert (
        http.post("/assistants", json={"model": "echo", "tools": [tool(deep_schema(10))]}).status_code == 200
    )


def test_message_size_counts_every_part_and_parts_are_bounded(
    client: openai.OpenAI, http: httpx.Client
) -> None:
    thread = client.beta.threads.create()
    part = {"type": "text", "text": "a" * 150_000}
    error = assert_400(
        http.post(f"/threads/{thread.id}/messages", json={"role": "user", "content": [part, part]})
    )
    assert "256000" in error["message"]
    many = [{"type": "text", "text": "a"}] * 101
    assert_400(http.post(f"/threads/{thread.id}/messages", json={"role": "user", "content": many}))
    ok = http.post(f"/threads/{thread.id}/messages", json={"role": "user", "content": [part]})
    assert ok.status_code == 200


def test_request_bodies_above_the_limit_are_refused_before_parsing(
    http: httpx.Client, channel: grpc.Channel, server: ThreadedServer
) -> None:
    big = json.dumps({"model": "echo", "instructions": "a" * (LIMIT_BYTES + 10)})
    response = http.post("/assistants", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        yield big[:1000].encode()
        for i in range(1000, len(big), 64_000):
            yield big[i : i + 64_000].encode()

    response = http.post("/assistants", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert count_rows(server, "assistants") == 0

    thread = threads_pb2_grpc.ThreadsStub(channel).CreateThread(threads_pb2.CreateThreadRequest())
    with pytest.raises(grpc.RpcError) as rpc:
        messages_pb2_grpc.MessagesStub(channel).CreateMessage(
            messages_pb2.CreateMessageRequest(
                thread_id=thread.id,
                role="user",
                content=struct_pb2.Value(string_value="a" * (LIMIT_BYTES + 10)),
            )
        )
    assert rpc.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


# ----------------------------------------------------------------------------- defect 8: 400, never 500


def test_limits_beyond_32_bits_are_400(client: openai.OpenAI, http: httpx.Client) -> None:
    thread = client.beta.threads.create()
    for path in ("/assistants", f"/threads/{thread.id}/messages", f"/threads/{thread.id}/runs"):
        error = assert_400(http.get(path, params={"limit": 2**40}))
        assert error["param"] == "limit"


def test_undecodable_grpc_requests_are_invalid_argument(channel: grpc.Channel) -> None:
    create = channel.unary_unary("/pygentic.v1.Assistants/CreateAssistant")  # raw bytes in and out
    with pytest.raises(grpc.RpcError) as rpc:
        create(b"\xff\xff\xff\xff\x0f garbage")
    assert rpc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # A message nested past protobuf's depth limit (no client library builds one; the bytes are made here):
    # response_format = Value{list_value: ListValue{values: [Value{...}]}} 200 times.
    nested = _field(3, b"x")  # Value.string_value
    for _ in range(200):
        nested = _field(6, _field(1, nested))  # Value.list_value -> ListValue.values
    request = assistants_pb2.CreateAssistantRequest(model="echo").SerializeToString() + _field(10, nested)
    with pytest.raises(grpc.RpcError) as rpc:
        create(request)
    assert rpc.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    size, length = len(payload), b""
    while True:
        byte, size = size & 0x7F, size >> 7
        length += bytes([byte | (0x80 if size else 0)])
        if not size:
            break
    return bytes([number << 3 | 2]) + length + payload


def test_huge_bad_values_are_echoed_short(http: httpx.Client, channel: grpc.Channel) -> None:
    name = "x" * 100_000
    error = assert_400(
        http.post(
            "/assistants", json={"model": "echo", "tools": [{"type": "function", "function": {"name": name}}]}
        )
    )
    assert len(error["message"]) < 300
    assert_400(http.post("/assistants", json={"model": "echo", "tools": [{"type": name}]}))
    assert_400(http.post("/assistants", json={"model": "echo", name: 1}))
    with pytest.raises(grpc.RpcError) as rpc:
        assistants_pb2_grpc.AssistantsStub(channel).CreateAssistant(
            assistants_pb2.CreateAssistantRequest(model="echo", tools=[res.Tool(type=name)])
        )
    assert rpc.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # not RESOURCE_EXHAUSTED "Stream removed"
    assert len(rpc.value.details() or "") < 300


def test_nested_unknown_fields_read_like_openai(http: httpx.Client) -> None:
    error = assert_400(
        http.post("/threads", json={"messages": [{"role": "user", "content": "x", "id": "m"}]})
    )
    assert error["param"] == "messages[0].id"
    assert "pygentic" not in error["message"] and "Available Fields" not in error["message"]
    error = assert_400(http.post("/threads", json={"metadata": {"a": {"b": 1}}}))
    assert "pygentic" not in error["message"]


def test_a_500_keeps_the_connection_and_leaks_nothing(server: ThreadedServer) -> None:
    async def drop() -> None:
        async with server.app.db.write() as session:
            await session.exec(text("DROP TABLE assistants"))  # type: ignore[call-overload]

    server.call(drop())
    port = server.app.http_port
    assert port is not None
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        request = b"GET /v1/assistants HTTP/1.1\r\nHost: localhost\r\n\r\n"
        sock.sendall(request)
        first = _read_response(sock)
        assert first.startswith(b"HTTP/1.1 500")
        body = json.loads(first.split(b"\r\n\r\n", 1)[1])
        assert "reference err_" in body["error"]["message"]
        assert "SELECT" not in body["error"]["message"] and "assistants" not in body["error"]["message"]
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")  # same connection
        assert _read_response(sock).startswith(b"HTTP/1.1 200")


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


# ----------------------------------------------------------------------------- rows an older version let in


def test_lists_skip_unreadable_rows_and_db_check_reports_them(
    client: openai.OpenAI, server: ThreadedServer, tmp_path: Path
) -> None:
    client.beta.assistants.create(model="echo", name="good")
    bad_tools = [tool(deep_schema(40))]

    async def insert_poison() -> None:  # as an older version stored it, bypassing every check
        async with server.app.db.write() as session:
            session.add(AssistantRow(id="asst_poison", created_at=1, model="echo", tools=bad_tools))

    server.call(insert_poison())
    page = client.beta.assistants.list()
    assert [a.name for a in page.data] == ["good"]
    with pytest.raises(openai.InternalServerError):
        client.beta.assistants.retrieve("asst_poison")
    config = tmp_path / "c.toml"
    config.write_text(f'[connectors.database]\nurl = "sqlite:///{tmp_path / "r.db"}"\n')
    result = subprocess.run(
        [PYGENTIC, "db", "check", "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1, result.stderr
    assert "unreadable assistant asst_poison" in result.stdout
    assert client.beta.assistants.delete("asst_poison").deleted  # the way to repair it
    result = subprocess.run(
        [PYGENTIC, "db", "check", "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and "0 unreadable" in result.stdout
