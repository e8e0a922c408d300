"""The official `openai` Node package (v6) against the REST gateway: a streamed run end to end."""

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
NODE_DIR = REPO / ".tools" / "node-openai"
SCRIPT = REPO / "clients" / "node" / "stream_run.mjs"


@pytest.fixture(scope="module")
def node_openai() -> Path:
    """`npm install openai@6` once into .tools/ (Node and npm belong to the toolchain, like the compiler)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("node and npm are required for the Node SDK test")
    if not (NODE_DIR / "node_modules" / "openai" / "package.json").is_file():
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR), "openai@6"],
            check=True,
            timeout=300,
        )
    return NODE_DIR


@pytest.fixture
def server(tmp_path: Path, upstream: FakeUpstream) -> Iterator[ThreadedServer]:
    running = ThreadedServer(make_settings(f"sqlite:///{tmp_path / 'node.db'}", upstream)).start()
    try:
        yield running
    finally:
        running.stop()


def test_node_sdk_streams_a_run(node_openai: Path, server: ThreadedServer, tmp_path: Path) -> None:
    script = tmp_path / "stream_run.mjs"
    shutil.copy(SCRIPT, script)
    (tmp_path / "node_modules").symlink_to(node_openai / "node_modules")
    env = {**os.environ, "OPENAI_BASE_URL": server.base_url}
    done = subprocess.run(
        ["node", str(script), "echo", "hello from node"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == "completed" and result["text"] == "Echo: hello from node"
    with openai.OpenAI(base_url=server.base_url, api_key="x") as client:
        stored = client.beta.threads.messages.list(result["thread_id"]).data[0]
    assert stored.content[0].text.value == result["text"]  # type: ignore[union-attr]
