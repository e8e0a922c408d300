"""The Go and TypeScript examples (clients/go, clients/typescript), built from their generated stubs and
run as separate processes with their documented commands against a live server: the streamed text and the
function-call round trip. Each skips, saying what to install, where its toolchain is absent; `.ci/run`
installs both."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import make_settings
from fake_upstream import FakeUpstream
from threaded_server import ThreadedServer

CLIENTS = Path(__file__).resolve().parent.parent / "clients"
GO_SOURCES = Path(os.environ.get("PYGENTIC_GOPATH_EXTRA", "/usr/share/gocode")) / "src"
APT_GO = "golang-go golang-google-grpc-dev golang-google-protobuf-dev golang-github-golang-protobuf-1-5-dev"


def _go_missing() -> str | None:
    if shutil.which("go") is None:
        return f"no `go` on PATH (Debian: apt-get install {APT_GO})"
    for package in ("google.golang.org/grpc", "google.golang.org/protobuf"):
        if not (GO_SOURCES / package).is_dir():
            return f"Go package {package} is not in {GO_SOURCES} (Debian: apt-get install {APT_GO})"
    # grpc-go 1.33 marshals through github.com/golang/protobuf; its 1.3 release crashes on these stubs.
    if not (GO_SOURCES / "github.com/golang/protobuf/proto/registry.go").is_file():
        return (
            f"github.com/golang/protobuf in {GO_SOURCES} is older than 1.4 (Debian: apt-get install {APT_GO})"
        )
    return None


def _node_missing() -> str | None:
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not on PATH (Node.js 20 or newer)" if missing else None


@pytest.fixture
def server(tmp_path: Path, upstream: FakeUpstream) -> Iterator[ThreadedServer]:
    with ThreadedServer(make_settings(f"sqlite:///{tmp_path / 'ex.db'}", upstream), gateway=False) as running:
        yield running


def _run_example(command: list[str], server: ThreadedServer, timeout: float) -> dict:
    done = subprocess.run(
        [*command, "tools", "Weather in Paris?"],
        env={**os.environ, "PYGENTIC_GRPC": server.grpc_target},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["text"] in done.stderr  # printed as it streamed
    return result


def _assert_round_trip(result: dict) -> None:
    assert result["status"] == "completed"
    assert result["calls"] == [{"city": "Paris"}]
    # The fake model answers "Tool said: <the function's output>"; the output is JSON (key order is the
    # language's own).
    prefix, _, output = result["text"].partition(": ")
    assert prefix == "Tool said"
    assert json.loads(output) == {"city": "Paris", "temperature_c": 21, "sky": "clear"}
    events = result["events"]
    assert events[0] == "thread.run.created"
    assert events.count("thread.run.requires_action") == 1
    assert events.index("thread.run.requires_action") < events.index("thread.message.delta")
    assert events[-2:] == ["thread.run.completed", "done"]


def test_the_go_example_streams_a_run_and_answers_the_function_call(server: ThreadedServer) -> None:
    if reason := _go_missing():
        pytest.skip(reason)
    _assert_round_trip(_run_example([str(CLIENTS / "go" / "run.sh")], server, timeout=300))


def test_the_typescript_example_streams_a_run_and_answers_the_function_call(server: ThreadedServer) -> None:
    if reason := _node_missing():
        pytest.skip(reason)
    _assert_round_trip(_run_example([str(CLIENTS / "typescript" / "run.sh")], server, timeout=300))
