"""Node clients: the official `openai` package (v6) against the REST gateway, and @grpc/grpc-js against the
gRPC server with the contract loaded from protos/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from conftest import make_settings
from fake_upstream import FakeUpstream
from threaded_server import ThreadedServer

REPO = Path(__file__).resolve().parent.parent
NODE_DIR = REPO / ".tools" / "node-clients"
CLIENTS = REPO / "clients" / "node"
PACKAGES = ("openai@6", "@grpc/grpc-js@1", "@grpc/proto-loader@0")


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """The Node packages, installed once into .tools/ (Node and npm belong to the toolchain, like the C
    compiler)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("node and npm are required for the Node client tests")
    marker = NODE_DIR / ("installed-" + "-".join(p.replace("/", "_") for p in PACKAGES))
    if not marker.is_file():
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        command = [
            "npm",
            "install",
            "--silent",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(NODE_DIR),
            *PACKAGES,
        ]
        subprocess.run(command, check=True, timeout=300)
        marker.touch()
    return NODE_DIR / "node_modules"


def run_node(script: str, tmp_path: Path, node_modules: Path, env: dict[str, str], *args: str) -> dict:
    """Run a script of clients/node (with the installed packages) and parse the JSON line it prints."""
    copy = tmp_path / script
    shutil.copy(CLIENTS / script, copy)
    if not (tmp_path / "node_modules").exists():
        (tmp_path / "node_modules").symlink_to(node_modules)
    done = subprocess.run(
        ["node", str(copy), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def server(tmp_path: Path, upstream: FakeUpstream) -> Iterator[ThreadedServer]:
    with ThreadedServer(make_settings(f"sqlite:///{tmp_path / 'node.db'}", upstream)) as running:
        yield running


def test_node_sdk_streams_a_run(node_modules: Path, server: ThreadedServer, tmp_path: Path) -> None:
    result = run_node(
        "stream_run.mjs",
        tmp_path,
        node_modules,
        {"OPENAI_BASE_URL": server.base_url},
        "echo",
        "hello from node",
    )
    assert result["status"] == "completed" and result["text"] == "Echo: hello from node"
    with openai.OpenAI(base_url=server.base_url, api_key="x") as client:
        stored = client.beta.threads.messages.list(result["thread_id"]).data[0]
    assert stored.content[0].text.value == result["text"]  # type: ignore[union-attr]


def test_node_grpc_client_streams_a_run(node_modules: Path, server: ThreadedServer, tmp_path: Path) -> None:
    env = {"PYGENTIC_GRPC": server.grpc_target, "PYGENTIC_PROTOS": str(REPO / "protos")}
    result = run_node("grpc_stream_run.mjs", tmp_path, node_modules, env, "echo", "hello over grpc")
    assert result["text"] == "Echo: hello over grpc"
    assert result["events"][0] == "thread.run.created"
    assert result["events"][-2:] == ["thread.run.completed", "done"]
    with openai.OpenAI(base_url=server.base_url, api_key="x") as client:
        run = client.beta.threads.runs.retrieve(result["run_id"], thread_id=result["thread_id"])
    assert run.status == "completed"
