"""The gateway's Host check (DNS rebinding) and CORS, over real HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import make_settings
from fake_upstream import FakeUpstream
from threaded_server import ThreadedServer

from pygentic.config import ServerSettings, Settings
from pygentic.gateway.hosts import HostPolicy, default_allowed_hosts, host_name


def _settings(tmp_path: Path, upstream: FakeUpstream, **server: object) -> Settings:
    settings = make_settings(f"sqlite:///{tmp_path / 'h.db'}", upstream)
    return dataclasses.replace(settings, server=ServerSettings(**server))  # type: ignore[arg-type]


@pytest.fixture
def loopback(tmp_path: Path, upstream: FakeUpstream) -> Iterator[ThreadedServer]:
    with ThreadedServer(_settings(tmp_path, upstream)) as server:
        yield server


def test_a_loopback_gateway_refuses_foreign_host_names(loopback: ThreadedServer) -> None:
    port = loopback.base_url.split(":")[2].split("/")[0]
    with httpx.Client(base_url=loopback.base_url) as http:
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
            assert http.get("/assistants", headers={"Host": host}).status_code == 200, host
        for host in ("attacker.example", f"attacker.example:{port}", "127.0.0.1.nip.io"):
            refused = http.post("/assistants", json={"model": "echo"}, headers={"Host": host})
            assert refused.status_code == 400, host
            error = refused.json()["error"]
            assert error["code"] == "host_not_allowed" and "allowed_hosts" in error["message"]
        # Nothing was created by the refused requests.
        assert http.get("/assistants").json()["data"] == []


def test_allowed_hosts_and_cors_when_configured(tmp_path: Path, upstream: FakeUpstream) -> None:
    settings = _settings(
        tmp_path,
        upstream,
        allowed_hosts=("*.example.com", "127.0.0.1"),
        cors_origins=("https://app.example.com",),
    )
    with ThreadedServer(settings) as server, httpx.Client(base_url=server.base_url) as http:
        assert http.get("/assistants", headers={"Host": "api.example.com"}).status_code == 200
        assert http.get("/assistants", headers={"Host": "example.org"}).status_code == 400
        preflight = http.options(
            "/assistants",
            headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
        other = http.get("/assistants", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_no_cors_headers_by_default(loopback: ThreadedServer) -> None:
    with httpx.Client(base_url=loopback.base_url) as http:
        answer = http.get("/assistants", headers={"Origin": "https://app.example.com"})
        preflight = http.options(
            "/assistants",
            headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"},
        )
    assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers
    assert "access-control-allow-origin" not in preflight.headers


def test_host_policy_rules() -> None:
    assert (
        default_allowed_hosts("127.0.0.1")
        == default_allowed_hosts("::1")
        == ("localhost", "127.0.0.1", "::1")
    )
    assert default_allowed_hosts("0.0.0.0") == ("*",) and default_allowed_hosts("10.1.2.3") == ("*",)
    assert host_name("[::1]:8080") == "::1" and host_name("API.Example.com:443") == "api.example.com"
    policy = HostPolicy(["*.example.com", "localhost"])
    assert policy.allows("a.b.example.com") and policy.allows("localhost:8080")
    assert not policy.allows("example.com.evil.io") and not policy.allows("notexample.com")
    assert not policy.allows(None) and HostPolicy(["*"]).allows(None)
