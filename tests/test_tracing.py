"""OpenTelemetry tracing: one trace from the caller's request through the run to the upstream call,
exported over real OTLP/HTTP to a collector that decodes what it receives."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from asgi_thread import ThreadedASGIServer
from conftest import make_settings, sdk_of
from fake_upstream import FakeUpstream
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from threaded_server import ThreadedServer

from pygentic.config import Settings, TelemetrySettings
from pygentic.proto.v1 import runs_pb2, runs_pb2_grpc

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


class Collector(ThreadedASGIServer):
    """An OTLP/HTTP trace collector: every span it receives, decoded."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        self._lock = threading.Lock()
        super().__init__(Starlette(routes=[Route("/v1/traces", self.traces, methods=["POST"])]))
        self.url = f"http://127.0.0.1:{self.port}"

    async def traces(self, request: Request) -> Response:
        export = ExportTraceServiceRequest.FromString(await request.body())
        with self._lock:
            for resource in export.resource_spans:
                for scope in resource.scope_spans:
                    self.spans.extend(scope.spans)
        return Response(ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf")

    def named(self, name: str) -> list[Any]:
        return [s for s in self.spans if s.name == name]


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector().start()
    try:
        yield server
    finally:
        server.stop()


def _traced(tmp_path: Path, upstream: FakeUpstream, collector: Collector) -> Settings:
    settings = make_settings(f"sqlite:///{tmp_path / 'tr.db'}", upstream)
    return dataclasses.replace(settings, telemetry=TelemetrySettings(otlp_endpoint=collector.url))


def test_a_run_is_one_trace_from_the_request_to_the_upstream(
    tmp_path: Path, upstream: FakeUpstream, collector: Collector
) -> None:
    start = len(upstream.headers)
    with ThreadedServer(_traced(tmp_path, upstream, collector)) as server:
        client = sdk_of(server)
        assistant = client.beta.assistants.create(model="echo")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "trace me"}])
        caller = (("traceparent", f"00-{TRACE_ID}-{CALLER_SPAN}-01"),)
        with grpc.insecure_channel(server.grpc_target) as channel:
            events = list(
                runs_pb2_grpc.RunsStub(channel).StreamRun(
                    runs_pb2.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id), metadata=caller
                )
            )
        assert events[-2].event == "thread.run.completed"
        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        assert run.status == "completed"
    # The server flushed its spans when it stopped.
    (rpc,) = collector.named("pygentic.v1.Runs/StreamRun")
    assert rpc.trace_id.hex() == TRACE_ID and rpc.parent_span_id.hex() == CALLER_SPAN  # the caller's trace
    runs = [s for s in collector.named("run") if s.trace_id == rpc.trace_id]
    assert [s.parent_span_id for s in runs] == [rpc.span_id]
    (chat,) = [s for s in collector.named("chat echo") if s.trace_id == rpc.trace_id]
    assert chat.parent_span_id == runs[0].span_id
    attributes = {a.key: a.value.string_value for a in runs[0].attributes}
    assert attributes["pygentic.run_status"] == "completed"
    # The upstream got the model call's span as its parent.
    sent = [h["traceparent"] for h in upstream.headers[start:] if TRACE_ID in h.get("traceparent", "")]
    assert sent == [f"00-{TRACE_ID}-{chat.span_id.hex()}-01"]
    # REST requests have their spans too, named by route.
    (rest,) = collector.named("POST /v1/threads/{thread_id}/runs")
    rest_runs = [s for s in collector.named("run") if s.trace_id == rest.trace_id]
    assert [s.parent_span_id for s in rest_runs] == [rest.span_id]


def test_tracing_is_off_by_default(tmp_path: Path, upstream: FakeUpstream) -> None:
    start = len(upstream.headers)
    with ThreadedServer(make_settings(f"sqlite:///{tmp_path / 'off.db'}", upstream)) as server:
        client = sdk_of(server)
        assistant = client.beta.assistants.create(model="echo")
        run = client.beta.threads.create_and_run_poll(
            assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "untraced"}]}
        )
        assert run.status == "completed"
    assert all("traceparent" not in h for h in upstream.headers[start:])
