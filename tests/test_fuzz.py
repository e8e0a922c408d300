"""Hostile clients, generated: schemathesis over the REST gateway's OpenAPI document, and hypothesis over
every gRPC method's request message. No 5xx, no UNKNOWN or INTERNAL; afterwards every list still answers and
every run ends (issue 8)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from conftest import make_settings
from fake_upstream import FakeUpstream
from google.protobuf import message_factory, struct_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from threaded_server import ThreadedServer

from pygentic.config import RunSettings
from pygentic.proto.v1 import (
    assistants_pb2,
    files_pb2,
    messages_pb2,
    runs_pb2,
    threads_pb2,
    vector_stores_pb2,
)

EXPIRES_AFTER = 3.0
SCHEMATHESIS = str(Path(sys.executable).parent / "st")
ACTIVE = ("queued", "in_progress", "requires_action", "cancelling")
FORBIDDEN = (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[ThreadedServer]:
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    # Runs waiting for tool outputs expire quickly, so that every run the fuzzers start ends.
    settings = make_settings(f"sqlite:///{path}", upstream, runs=RunSettings(expires_after=EXPIRES_AFTER))
    with ThreadedServer(settings) as running:
        yield running


def assert_store_healthy(server: ThreadedServer) -> None:
    """Every list endpoint answers 200 for every stored thread and run, and no run stays active."""

    async def ids() -> tuple[list[str], list[tuple[str, str]]]:
        async with server.app.db.read() as session:
            threads = [r[0] for r in (await session.exec(text("SELECT id FROM threads"))).all()]  # type: ignore[call-overload]
            runs = [(r[0], r[1]) for r in (await session.exec(text("SELECT thread_id, id FROM runs"))).all()]  # type: ignore[call-overload]
        return threads, runs

    threads, runs = server.call(ids())
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        assert http.get("/assistants", params={"limit": 100}).status_code == 200
        for thread_id in threads:
            assert http.get(f"/threads/{thread_id}/messages").status_code == 200
            assert http.get(f"/threads/{thread_id}/runs").status_code == 200
        deadline = time.monotonic() + EXPIRES_AFTER + 15
        for thread_id, run_id in runs:
            assert http.get(f"/threads/{thread_id}/runs/{run_id}/steps").status_code == 200
            while True:
                status = http.get(f"/threads/{thread_id}/runs/{run_id}").json()["status"]
                if status not in ACTIVE:
                    break
                assert time.monotonic() < deadline, f"run {run_id} stays {status}"
                time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.timeout(900)  # the schemathesis run's own limit below; it takes about 120 s on 2 cores
def test_schemathesis_over_the_gateway(server: ThreadedServer) -> None:
    checks = (
        "not_a_server_error,status_code_conformance,content_type_conformance,"
        "response_schema_conformance,response_headers_conformance"
    )
    result = subprocess.run(
        [
            SCHEMATHESIS,
            "run",
            f"http://127.0.0.1:{server.app.http_port}/openapi.json",
            "--checks",
            checks,
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            os.environ.get("PYGENTIC_FUZZ_EXAMPLES", "60"),
            "--seed",
            os.environ.get("PYGENTIC_FUZZ_SEED", "8"),
            "--workers",
            "2",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent / "schemathesis_env")},
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert re.search(r"\b[1-9]\d* generated, [1-9]\d* passed", result.stdout), result.stdout[-3000:]
    assert_store_healthy(server)


# ----------------------------------------------------------------------------- gRPC


def _methods() -> list[MethodDescriptor]:
    out = []
    for module in (assistants_pb2, threads_pb2, messages_pb2, runs_pb2, files_pb2, vector_stores_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            out.extend(service.methods)
    return out


IDS: dict[str, list[str]] = {}
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**53), 2**53),
)


def _value(depth: int) -> st.SearchStrategy[struct_pb2.Value]:
    leaves = JSON_SCALARS.map(_to_value)
    if depth <= 0:
        return leaves
    inner = _value(depth - 1)
    return st.one_of(
        leaves,
        st.lists(inner, max_size=3).map(
            lambda vs: struct_pb2.Value(list_value=struct_pb2.ListValue(values=vs))
        ),
        st.dictionaries(st.text(max_size=8), inner, max_size=3).map(
            lambda d: struct_pb2.Value(struct_value=struct_pb2.Struct(fields=d))
        ),
    )


def _to_value(python: Any) -> struct_pb2.Value:
    value = struct_pb2.Value()
    if python is None:
        value.null_value = struct_pb2.NULL_VALUE
    elif isinstance(python, bool):
        value.bool_value = python
    elif isinstance(python, str):
        value.string_value = python
    else:
        value.number_value = float(python)
    return value


def _string(field: FieldDescriptor) -> st.SearchStrategy[str]:
    name = field.name
    if name.endswith("_id") and IDS.get(name):
        return st.one_of(st.sampled_from(IDS[name]), st.text(max_size=70))
    choices = {
        "role": ["user", "assistant", "system"],
        "type": ["function", "code_interpreter", "file_search", "auto", "last_messages", "text", "x"],
        "order": ["asc", "desc", "up"],
        "model": ["echo", "tools", "length", "", "unknown"],
    }.get(name)
    if choices:
        return st.one_of(st.sampled_from(choices), st.text(max_size=10))
    return st.text(max_size=40)


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return _string(field)
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(
            allow_nan=True, allow_infinity=True, width=64 if kind == FieldDescriptor.TYPE_DOUBLE else 32
        )
    if kind in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32):
        return st.integers(-(2**31), 2**31 - 1)
    if kind in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64):
        return st.integers(-(2**63), 2**63 - 1)
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=20)
    return st.integers(0, 2**31 - 1)


def _message(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Any]:
    cls = message_factory.GetMessageClass(descriptor)
    if descriptor.full_name == "google.protobuf.Value":
        return _value(3)
    if descriptor.full_name == "google.protobuf.Struct":
        return st.dictionaries(st.text(max_size=8), _value(2), max_size=4).map(
            lambda d: struct_pb2.Struct(fields=d)
        )
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key = field.message_type.fields_by_name["key"]
            value = field.message_type.fields_by_name["value"]
            fields[field.name] = st.dictionaries(_scalar(key), _scalar(value), max_size=4)
            continue
        if field.message_type is not None:
            if depth > 3 or field.message_type.full_name == "google.protobuf.FieldMask":
                continue
            item = _message(field.message_type, depth + 1)
        else:
            item = _scalar(field)
        fields[field.name] = st.lists(item, max_size=3) if field.is_repeated else item
    return st.fixed_dictionaries({}, optional=fields).map(lambda kw: _build(cls, kw))


def _build(cls: Any, kwargs: dict[str, Any]) -> Any:
    message = cls()
    for name, value in kwargs.items():
        field = message.DESCRIPTOR.fields_by_name[name]
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            getattr(message, name).update(value)
        elif field.is_repeated:
            getattr(message, name).extend(value)
        elif field.message_type is not None:
            getattr(message, name).CopyFrom(value)
        else:
            setattr(message, name, value)
    return message


@pytest.fixture(scope="module")
def channel(server: ThreadedServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.grpc_target) as ch:
        assistants = grpc_call(
            ch,
            "/pygentic.v1.Assistants/CreateAssistant",
            assistants_pb2.CreateAssistantRequest(model="tools"),
        )
        thread = grpc_call(ch, "/pygentic.v1.Threads/CreateThread", threads_pb2.CreateThreadRequest())
        IDS["assistant_id"] = [assistants.id]
        IDS["thread_id"] = [thread.id]
        IDS["run_id"] = ["run_x"]
        IDS["message_id"] = ["msg_x"]
        IDS["step_id"] = ["step_x"]
        yield ch


def grpc_call(channel: grpc.Channel, path: str, request: Any) -> Any:
    method = {f"/{m.containing_service.full_name}/{m.name}": m for m in _methods()}[path]
    response_cls = message_factory.GetMessageClass(method.output_type)
    call = channel.unary_unary(
        path,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_cls.FromString,
    )
    return call(request, timeout=10)


@pytest.mark.slow
@pytest.mark.parametrize("method", _methods(), ids=lambda m: f"{m.containing_service.name}.{m.name}")
def test_every_grpc_method_answers_generated_requests_without_internal_errors(
    channel: grpc.Channel, server: ThreadedServer, method: MethodDescriptor
) -> None:
    path = f"/{method.containing_service.full_name}/{method.name}"
    response_cls = message_factory.GetMessageClass(method.output_type)
    serialize = lambda m: m if isinstance(m, bytes) else m.SerializeToString()  # noqa: E731
    if method.client_streaming:
        call: Any = channel.stream_unary(
            path, request_serializer=serialize, response_deserializer=response_cls.FromString
        )
    elif method.server_streaming:
        call = channel.unary_stream(
            path, request_serializer=serialize, response_deserializer=response_cls.FromString
        )
    else:
        call = channel.unary_unary(
            path, request_serializer=serialize, response_deserializer=response_cls.FromString
        )

    requests = st.one_of(_message(method.input_type), st.binary(max_size=64))
    if method.client_streaming:
        requests = st.lists(requests, max_size=4).map(iter)

    @settings(
        max_examples=int(os.environ.get("PYGENTIC_FUZZ_GRPC_EXAMPLES", "40")),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(request=requests)
    def one(request: Any) -> None:
        try:
            if method.server_streaming:
                for _ in call(request, timeout=10):
                    pass
            else:
                call(request, timeout=10)
        except grpc.RpcError as exc:
            assert exc.code() not in FORBIDDEN, f"{exc.code().name}: {exc.details()}"
            assert exc.code() != grpc.StatusCode.RESOURCE_EXHAUSTED or "fell too far" in (exc.details() or "")

    one()
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        assert http.get("/assistants").status_code == 200


@pytest.mark.slow
def test_after_the_fuzzers_every_list_answers_and_every_run_ends(server: ThreadedServer) -> None:
    assert_store_healthy(server)
