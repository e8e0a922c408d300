"""Prometheus metrics at /metrics, read by a real HTTP client after real traffic through both doors."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from conftest import make_settings, sdk_of
from fake_upstream import FakeUpstream
from prometheus_client.parser import text_string_to_metric_families
from threaded_server import ThreadedServer

from pygentic.config import ServerSettings
from pygentic.proto.v1 import assistants_pb2, assistants_pb2_grpc


@pytest.fixture
def server(tmp_path: Path, upstream: FakeUpstream) -> Iterator[ThreadedServer]:
    with ThreadedServer(make_settings(f"sqlite:///{tmp_path / 'm.db'}", upstream)) as running:
        yield running


def scrape(server: ThreadedServer) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = httpx.get(server.base_url.removesuffix("/v1") + "/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_runs_upstream_and_bus_are_counted(server: ThreadedServer) -> None:
    before = scrape(server)
    client = sdk_of(server)
    assistant = client.beta.assistants.create(model="echo")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "count this"}])
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        stream.until_done()
    failing = client.beta.assistants.create(model="fail500")
    failed = client.beta.threads.create_and_run_poll(
        assistant_id=failing.id, thread={"messages": [{"role": "user", "content": "x"}]}
    )
    assert failed.status == "failed"
    with grpc.insecure_channel(server.grpc_target) as channel:
        assistants_pb2_grpc.AssistantsStub(channel).ListAssistants(assistants_pb2.ListAssistantsRequest())
    client.beta.assistants.retrieve(assistant.id)
    after = scrape(server)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("pygentic_requests_total", door="http", method="POST /v1/assistants", code="200") == 2
    # Route templates, not ids, label the paths.
    assert (
        grew("pygentic_requests_total", door="http", method="GET /v1/assistants/{assistant_id}", code="200")
        == 1
    )
    assert (
        grew(
            "pygentic_requests_total", door="grpc", method="/pygentic.v1.Assistants/ListAssistants", code="OK"
        )
        == 1
    )
    assert (
        grew("pygentic_request_seconds_count", door="grpc", method="/pygentic.v1.Assistants/ListAssistants")
        == 1
    )
    assert grew("pygentic_run_transitions_total", status="completed") >= 1
    assert grew("pygentic_run_transitions_total", status="failed") >= 1
    assert grew("pygentic_upstream_first_chunk_seconds_count", connector="llm_service") >= 1
    assert grew("pygentic_upstream_errors_total", connector="llm_service", code="server_error") == 1
    assert grew("pygentic_bus_lag_seconds_count") >= 5  # the streamed run's events, each taken by its reader
    assert value(after, "pygentic_runs_waiting_for_connector", connector="llm_service") == 0
    assert not any(
        re.search(r"(thread|asst|run)_[A-Za-z0-9]{20}", dict(labels).get("method", "")) for _, labels in after
    )


def test_metrics_need_no_key_and_can_be_turned_off(tmp_path: Path, upstream: FakeUpstream) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'k.db'}", upstream)
    with ThreadedServer(settings) as server:
        server.call(server.app.operations.keys.create("alpha"))
        assert httpx.get(f"{server.base_url}/assistants").status_code == 401
        scrape(server)  # still readable without a key
    off = dataclasses.replace(settings, server=ServerSettings(metrics=False))
    with ThreadedServer(off) as server:
        assert httpx.get(server.base_url.removesuffix("/v1") + "/metrics").status_code in (401, 404)
