"""Malformed requests through both front doors: every answer is 400 / INVALID_ARGUMENT, names the public
field path and says what was expected, in OpenAI's words, with no protobuf or Python type names.

A case with a gRPC method is sent both ways: its JSON body over the REST gateway, and the same body as the
request message through the generated stub (the body is valid protobuf JSON: only what it means is wrong).
REST-only cases are malformed JSON shapes that a typed protobuf message cannot even express.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from conftest import make_settings
from fake_upstream import FakeUpstream
from google.protobuf import json_format
from threaded_server import ThreadedServer

from pygentic.proto.v1 import (
    assistants_pb2,
    assistants_pb2_grpc,
    messages_pb2,
    messages_pb2_grpc,
    runs_pb2,
    runs_pb2_grpc,
    threads_pb2,
    threads_pb2_grpc,
    vector_stores_pb2,
    vector_stores_pb2_grpc,
)

# What no error message may contain: protobuf's and Python's names for things.
INTERNAL = (
    "pygentic",
    "google.protobuf",
    "Message type",
    "Available Fields",
    "Failed to parse",
    "bytes-like",
    "NoneType",
    "Struct",
    "ListValue",
    "Traceback",
    "<class",
    "'dict'",
    "'list'",
    "'str'",
    "'int'",
    "Input should be",
)

# REST path -> (stub class, method, request class): the gRPC twin of each operation used below.
GRPC: dict[tuple[str, str], tuple[Any, str, Any]] = {
    ("POST", "/assistants"): (
        assistants_pb2_grpc.AssistantsStub,
        "CreateAssistant",
        assistants_pb2.CreateAssistantRequest,
    ),
    ("GET", "/assistants"): (
        assistants_pb2_grpc.AssistantsStub,
        "ListAssistants",
        assistants_pb2.ListAssistantsRequest,
    ),
    ("POST", "/threads"): (threads_pb2_grpc.ThreadsStub, "CreateThread", threads_pb2.CreateThreadRequest),
    ("POST", "/threads/{thread}/messages"): (
        messages_pb2_grpc.MessagesStub,
        "CreateMessage",
        messages_pb2.CreateMessageRequest,
    ),
    ("GET", "/threads/{thread}/messages"): (
        messages_pb2_grpc.MessagesStub,
        "ListMessages",
        messages_pb2.ListMessagesRequest,
    ),
    ("POST", "/threads/{thread}/runs"): (runs_pb2_grpc.RunsStub, "CreateRun", runs_pb2.CreateRunRequest),
    ("POST", "/threads/runs"): (
        runs_pb2_grpc.RunsStub,
        "CreateThreadAndRun",
        runs_pb2.CreateThreadAndRunRequest,
    ),
    ("POST", "/vector_stores"): (
        vector_stores_pb2_grpc.VectorStoresStub,
        "CreateVectorStore",
        vector_stores_pb2.CreateVectorStoreRequest,
    ),
    ("POST", "/vector_stores/{store}/search"): (
        vector_stores_pb2_grpc.VectorStoresStub,
        "SearchVectorStore",
        vector_stores_pb2.SearchVectorStoreRequest,
    ),
}
PATH_FIELDS = {"{thread}": "thread_id", "{store}": "vector_store_id"}


@dataclass(frozen=True)
class Case:
    """One malformed request: where it goes, its body (or query), the field it is about and words the
    message must contain besides the field path."""

    id: str
    method: str
    path: str
    body: Any
    param: str
    says: tuple[str, ...] = ()
    both_doors: bool = True
    query: dict[str, Any] = field(default_factory=dict)


def fn(name: str = "f", **extra: Any) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, **extra}}


A, T = "/assistants", "/threads"
MSG, RUN = "/threads/{thread}/messages", "/threads/{thread}/runs"
RUN_BASE = {"assistant_id": "{assistant}"}
CASES = [
    # Both doors: valid protobuf JSON whose values are wrong.
    Case("model missing", "POST", A, {}, "model", ("Missing required parameter",)),
    Case(
        "temperature too high",
        "POST",
        A,
        {"model": "m", "temperature": 5},
        "temperature",
        ("between 0 and 2",),
    ),
    Case("top_p negative", "POST", A, {"model": "m", "top_p": -1}, "top_p", ("between 0 and 1",)),
    Case(
        "tool type",
        "POST",
        A,
        {"model": "m", "tools": [{"type": "browser"}]},
        "tools[0].type",
        ("'browser'", "Supported values"),
    ),
    Case(
        "function missing",
        "POST",
        A,
        {"model": "m", "tools": [{"type": "function"}]},
        "tools[0].function",
        ("Missing required parameter",),
    ),
    Case("function name", "POST", A, {"model": "m", "tools": [fn("bad name!")]}, "tools[0].function.name"),
    Case(
        "schema invalid",
        "POST",
        A,
        {"model": "m", "tools": [fn(parameters={"type": 5})]},
        "tools[0].function.parameters.type",
        ("JSON Schema",),
    ),
    Case(
        "too many metadata pairs",
        "POST",
        A,
        {"model": "m", "metadata": {f"k{i}": "v" for i in range(17)}},
        "metadata",
        ("16",),
    ),
    Case(
        "metadata key too long", "POST", A, {"model": "m", "metadata": {"k" * 65: "v"}}, "metadata", ("64",)
    ),
    Case(
        "metadata value too long",
        "POST",
        A,
        {"model": "m", "metadata": {"k": "v" * 513}},
        "metadata.k",
        ("string too long", "512"),
    ),
    Case(
        "response format type",
        "POST",
        A,
        {"model": "m", "response_format": {"type": "xml"}},
        "response_format.type",
        ("'xml'", "Supported values"),
    ),
    Case(
        "json_schema name",
        "POST",
        A,
        {"model": "m", "response_format": {"type": "json_schema", "json_schema": {"schema": {}}}},
        "response_format.json_schema.name",
        ("Missing required parameter",),
    ),
    Case(
        "reasoning effort",
        "POST",
        A,
        {"model": "m", "reasoning_effort": "max"},
        "reasoning_effort",
        ("'max'", "'low'"),
    ),
    Case("name too long", "POST", A, {"model": "m", "name": "n" * 300}, "name", ("256",)),
    Case("limit", "GET", A, None, "limit", ("between 1 and 100",), query={"limit": 1000}),
    Case("order", "GET", A, None, "order", ("'up'", "'asc'"), query={"order": "up"}),
    Case(
        "role",
        "POST",
        T,
        {"messages": [{"role": "robot", "content": "x"}]},
        "messages[0].role",
        ("'robot'", "'user'"),
    ),
    Case(
        "role missing",
        "POST",
        T,
        {"messages": [{"content": "x"}]},
        "messages[0].role",
        ("Missing required parameter",),
    ),
    Case(
        "content missing",
        "POST",
        T,
        {"messages": [{"role": "user"}]},
        "messages[0].content",
        ("Missing required parameter",),
    ),
    Case(
        "content number",
        "POST",
        T,
        {"messages": [{"role": "user", "content": 5}]},
        "messages[0].content",
        ("string",),
    ),
    Case(
        "part type",
        "POST",
        T,
        {"messages": [{"role": "user", "content": [{"type": "video"}]}]},
        "messages[0].content[0].type",
        ("'video'",),
    ),
    Case(
        "part text",
        "POST",
        T,
        {"messages": [{"role": "user", "content": [{"type": "text"}]}]},
        "messages[0].content[0].text",
    ),
    Case(
        "image url missing",
        "POST",
        MSG,
        {"role": "user", "content": [{"type": "image_url", "image_url": {}}]},
        "content[0].image_url.url",
        ("Missing required parameter",),
    ),
    Case(
        "image detail",
        "POST",
        MSG,
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "ultra"}}],
        },
        "content[0].image_url.detail",
    ),
    Case(
        "attachment tool",
        "POST",
        MSG,
        {"role": "user", "content": "x", "attachments": [{"file_id": "file-1", "tools": [{"type": "web"}]}]},
        "attachments[0].tools[0].type",
    ),
    Case("assistant id missing", "POST", RUN, {}, "assistant_id", ("Missing required parameter",)),
    Case(
        "tool choice string", "POST", RUN, {**RUN_BASE, "tool_choice": "always"}, "tool_choice", ("'always'",)
    ),
    Case(
        "tool choice function missing",
        "POST",
        RUN,
        {**RUN_BASE, "tool_choice": {"type": "function"}},
        "tool_choice.function",
        ("Missing required parameter",),
    ),
    Case(
        "tool choice unknown function",
        "POST",
        RUN,
        {**RUN_BASE, "tool_choice": {"type": "function", "function": {"name": "nope"}}},
        "tool_choice.function.name",
        ("'nope'",),
    ),
    Case(
        "truncation type",
        "POST",
        RUN,
        {**RUN_BASE, "truncation_strategy": {"type": "first"}},
        "truncation_strategy.type",
        ("'first'", "'last_messages'"),
    ),
    Case(
        "max completion tokens",
        "POST",
        RUN,
        {**RUN_BASE, "max_completion_tokens": 0},
        "max_completion_tokens",
        ("at least 1",),
    ),
    Case(
        "run reasoning effort",
        "POST",
        RUN,
        {**RUN_BASE, "reasoning_effort": "extreme"},
        "reasoning_effort",
        ("'extreme'",),
    ),
    Case(
        "additional message role",
        "POST",
        RUN,
        {**RUN_BASE, "additional_messages": [{"role": "system", "content": "x"}]},
        "additional_messages[0].role",
        ("'system'",),
    ),
    Case(
        "thread message role",
        "POST",
        "/threads/runs",
        {**RUN_BASE, "thread": {"messages": [{"role": "tool", "content": "x"}]}},
        "thread.messages[0].role",
        ("'tool'",),
    ),
    Case(
        "store expiry anchor",
        "POST",
        "/vector_stores",
        {"expires_after": {"anchor": "now", "days": 1}},
        "expires_after.anchor",
        ("'now'", "'last_active_at'"),
    ),
    Case(
        "store expiry days",
        "POST",
        "/vector_stores",
        {"expires_after": {"anchor": "last_active_at", "days": 0}},
        "expires_after.days",
        ("between 1 and 365",),
    ),
    Case(
        "chunk size",
        "POST",
        "/vector_stores",
        {
            "chunking_strategy": {
                "type": "static",
                "static": {"max_chunk_size_tokens": 10, "chunk_overlap_tokens": 0},
            }
        },
        "chunking_strategy.static.max_chunk_size_tokens",
        ("100",),
    ),
    Case(
        "search results",
        "POST",
        "/vector_stores/{store}/search",
        {"query": "x", "max_num_results": 99},
        "max_num_results",
        ("between 1 and 50",),
    ),
    Case(
        "search ranker",
        "POST",
        "/vector_stores/{store}/search",
        {"query": "x", "ranking_options": {"ranker": "best"}},
        "ranking_options.ranker",
        ("'best'",),
    ),
    Case(
        "filter type",
        "POST",
        "/vector_stores/{store}/search",
        {"query": "x", "filters": {"type": "like", "key": "k", "value": "v"}},
        "filters.type",
        ("'like'", "'eq'"),
    ),
    # REST only: JSON that no protobuf message can hold.
    Case(
        "model number",
        "POST",
        A,
        {"model": 5},
        "model",
        ("expected a string, but got an integer",),
        both_doors=False,
    ),
    Case(
        "tools object",
        "POST",
        A,
        {"model": "m", "tools": {"type": "function"}},
        "tools",
        ("expected an array, but got an object",),
        both_doors=False,
    ),
    Case(
        "parameters string",
        "POST",
        A,
        {"model": "m", "tools": [fn(parameters="x")]},
        "tools[0].function.parameters",
        ("expected an object, but got a string",),
        both_doors=False,
    ),
    Case(
        "strict string",
        "POST",
        A,
        {"model": "m", "tools": [fn(strict="yes")]},
        "tools[0].function.strict",
        ("expected a boolean",),
        both_doors=False,
    ),
    Case(
        "temperature string",
        "POST",
        A,
        {"model": "m", "temperature": "hot"},
        "temperature",
        ("expected a number, but got a string",),
        both_doors=False,
    ),
    Case(
        "metadata value number",
        "POST",
        A,
        {"model": "m", "metadata": {"a": 1}},
        "metadata.a",
        ("expected a string, but got an integer",),
        both_doors=False,
    ),
    Case(
        "metadata value object",
        "POST",
        A,
        {"model": "m", "metadata": {"a": {"b": 1}}},
        "metadata.a",
        ("expected a string, but got an object",),
        both_doors=False,
    ),
    Case(
        "metadata array",
        "POST",
        MSG,
        {"role": "user", "content": "x", "metadata": []},
        "metadata",
        ("expected an object, but got an array",),
        both_doors=False,
    ),
    Case(
        "store ids string",
        "POST",
        A,
        {"model": "m", "tool_resources": {"file_search": {"vector_store_ids": "vs_1"}}},
        "tool_resources.file_search.vector_store_ids",
        ("expected an array",),
        both_doors=False,
    ),
    Case(
        "file id number",
        "POST",
        A,
        {"model": "m", "tool_resources": {"code_interpreter": {"file_ids": [1]}}},
        "tool_resources.code_interpreter.file_ids[0]",
        ("expected a string",),
        both_doors=False,
    ),
    Case(
        "unknown nested",
        "POST",
        A,
        {"model": "m", "tool_resources": {"browser": {}}},
        "tool_resources.browser",
        ("Unknown parameter",),
        both_doors=False,
    ),
    Case("unknown top", "POST", T, {"id": "thread_1"}, "id", ("Unknown parameter",), both_doors=False),
    Case(
        "unknown in message",
        "POST",
        T,
        {"messages": [{"role": "user", "content": "x", "id": "m"}]},
        "messages[0].id",
        ("Unknown parameter",),
        both_doors=False,
    ),
    Case(
        "messages string",
        "POST",
        T,
        {"messages": "hello"},
        "messages",
        ("expected an array, but got a string",),
        both_doors=False,
    ),
    Case(
        "last_messages string",
        "POST",
        RUN,
        {**RUN_BASE, "truncation_strategy": {"type": "last_messages", "last_messages": "3"}},
        "truncation_strategy.last_messages",
        ("expected an integer, but got a string",),
        both_doors=False,
    ),
    Case(
        "max tokens fraction",
        "POST",
        RUN,
        {**RUN_BASE, "max_prompt_tokens": 1.5},
        "max_prompt_tokens",
        ("expected an integer, but got a number",),
        both_doors=False,
    ),
    Case(
        "limit past 32 bits",
        "POST",
        RUN,
        {**RUN_BASE, "max_prompt_tokens": 2**40},
        "max_prompt_tokens",
        ("integer above maximum value",),
        both_doors=False,
    ),
    Case(
        "parallel string",
        "POST",
        RUN,
        {**RUN_BASE, "parallel_tool_calls": "no"},
        "parallel_tool_calls",
        ("expected a boolean",),
        both_doors=False,
    ),
    Case(
        "stream string",
        "POST",
        RUN,
        {**RUN_BASE, "stream": "yes"},
        "stream",
        ("expected a boolean",),
        both_doors=False,
    ),
    Case(
        "thread string",
        "POST",
        "/threads/runs",
        {**RUN_BASE, "thread": "x"},
        "thread",
        ("expected an object, but got a string",),
        both_doors=False,
    ),
    Case(
        "limit not a number",
        "GET",
        A,
        None,
        "limit",
        ("expected an integer", "'abc'"),
        both_doors=False,
        query={"limit": "abc"},
    ),
    Case(
        "store name number",
        "POST",
        "/vector_stores",
        {"name": 5},
        "name",
        ("expected a string",),
        both_doors=False,
    ),
]


@dataclass
class Target:
    """The server and the ids the cases' paths and bodies refer to."""

    server: ThreadedServer
    ids: dict[str, str]

    def fill(self, value: Any) -> Any:
        text = json.dumps(value)
        for placeholder, real in self.ids.items():
            text = text.replace(placeholder, real)
        return json.loads(text)


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Target]:
    directory: Path = tmp_path_factory.mktemp("errors")
    with ThreadedServer(make_settings(f"sqlite:///{directory / 'e.db'}", upstream)) as server:
        with httpx.Client(base_url=server.base_url) as http:
            assistant = http.post("/assistants", json={"model": "echo"}).json()["id"]
            thread = http.post("/threads", json={}).json()["id"]
            store = http.post("/vector_stores", json={"name": "s"}).json()["id"]
        yield Target(server, {"{assistant}": assistant, "{thread}": thread, "{store}": store})


def assert_readable(message: str, param: str) -> None:
    assert f"'{param}'" in message, f"{message!r} does not name '{param}'"
    for word in INTERNAL:
        assert word not in message, f"{message!r} contains {word!r}"
    assert len(message) < 400


def _ids(cases: list[Case]) -> list[str]:
    return [c.id for c in cases]


assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_rest_door(target: Target, case: Case) -> None:
    with httpx.Client(base_url=target.server.base_url) as http:
        response = http.request(
            case.method, target.fill(case.path), params=case.query or None, json=target.fill(case.body)
        )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == case.param, error
    assert_readable(error["message"], case.param)
    for words in case.says:
        assert words in error["message"], error["message"]


BOTH = [c for c in CASES if c.both_doors]


@pytest.mark.parametrize("case", BOTH, ids=_ids(BOTH))
def test_grpc_door(target: Target, case: Case) -> None:
    stub_class, method, request_class = GRPC[(case.method, case.path)]
    request = json_format.ParseDict({**(target.fill(case.body) or {}), **case.query}, request_class())
    for placeholder, name in PATH_FIELDS.items():
        if placeholder in case.path:
            setattr(request, name, target.ids[placeholder])
    with grpc.insecure_channel(target.server.grpc_target) as channel:
        with pytest.raises(grpc.RpcError) as info:
            getattr(stub_class(channel), method)(request, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    message = info.value.details() or ""
    assert_readable(message, case.param)
    for words in case.says:
        assert words in message, message


def test_a_body_that_is_not_an_object_or_not_json(target: Target) -> None:
    with httpx.Client(base_url=target.server.base_url) as http:
        array = http.post("/assistants", json=[1, 2]).json()["error"]
        broken = http.post(
            "/assistants", content=b'{"model": ', headers={"Content-Type": "application/json"}
        ).json()["error"]
    assert array["message"] == "Invalid type for 'body': expected an object, but got an array instead."
    assert "not valid JSON" in broken["message"] and broken["type"] == "invalid_request_error"
    for message in (array["message"], broken["message"]):
        assert not any(word in message for word in INTERNAL), message
