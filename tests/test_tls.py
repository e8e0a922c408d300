"""TLS on both doors from PEM files in ``[server.tls]``, and mutual TLS with a client CA: real
certificates (made here with ``cryptography``), a real grpc secure channel, the openai SDK over HTTPS."""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import openai
import pytest
from conftest import make_settings
from fake_upstream import FakeUpstream
from pki import Pki, make_pki
from threaded_server import ThreadedServer

from pygentic.config import ConfigError, ServerSettings, TLSSettings, parse_settings
from pygentic.proto.v1 import assistants_pb2, assistants_pb2_grpc


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _server(tmp_path: Path, upstream: FakeUpstream, tls: TLSSettings) -> ThreadedServer:
    settings = make_settings(f"sqlite:///{tmp_path / 't.db'}", upstream)
    return ThreadedServer(dataclasses.replace(settings, server=ServerSettings(tls=tls)))


@pytest.fixture
def tls_server(tmp_path: Path, upstream: FakeUpstream, pki: Pki) -> Iterator[ThreadedServer]:
    with _server(
        tmp_path, upstream, TLSSettings(cert=str(pki.server_cert), key=str(pki.server_key))
    ) as server:
        yield server


def _https(server: ThreadedServer) -> str:
    return server.base_url.replace("http://", "https://")


def test_grpc_and_https_over_tls(tls_server: ThreadedServer, pki: Pki) -> None:
    credentials = grpc.ssl_channel_credentials(root_certificates=pki.ca.read_bytes())
    with grpc.secure_channel(tls_server.grpc_target, credentials) as channel:
        made = assistants_pb2_grpc.AssistantsStub(channel).CreateAssistant(
            assistants_pb2.CreateAssistantRequest(model="echo"), timeout=10
        )
    with httpx.Client(verify=str(pki.ca)) as http:
        client = openai.OpenAI(base_url=_https(tls_server), api_key="x", max_retries=0, http_client=http)
        assert client.beta.assistants.retrieve(made.id).id == made.id
    # Plain text is not served on either port.
    with grpc.insecure_channel(tls_server.grpc_target) as channel:
        with pytest.raises(grpc.RpcError) as info:
            assistants_pb2_grpc.AssistantsStub(channel).ListAssistants(
                assistants_pb2.ListAssistantsRequest(), timeout=5
            )
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{tls_server.base_url}/assistants", timeout=5)


def test_mutual_tls_requires_a_client_certificate(tmp_path: Path, upstream: FakeUpstream, pki: Pki) -> None:
    tls = TLSSettings(cert=str(pki.server_cert), key=str(pki.server_key), client_ca=str(pki.ca))
    with _server(tmp_path, upstream, tls) as server:
        root = pki.ca.read_bytes()
        anonymous = grpc.ssl_channel_credentials(root_certificates=root)
        with grpc.secure_channel(server.grpc_target, anonymous) as channel:
            with pytest.raises(grpc.RpcError) as info:
                assistants_pb2_grpc.AssistantsStub(channel).ListAssistants(
                    assistants_pb2.ListAssistantsRequest(), timeout=5
                )
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        identified = grpc.ssl_channel_credentials(
            root_certificates=root,
            private_key=pki.client_key.read_bytes(),
            certificate_chain=pki.client_cert.read_bytes(),
        )
        with grpc.secure_channel(server.grpc_target, identified) as channel:
            assistants_pb2_grpc.AssistantsStub(channel).ListAssistants(
                assistants_pb2.ListAssistantsRequest(), timeout=10
            )
        context = ssl.create_default_context(cafile=str(pki.ca))
        with pytest.raises(httpx.HTTPError):
            with httpx.Client(verify=context) as http:
                http.get(f"{_https(server)}/assistants", timeout=5).raise_for_status()
        context.load_cert_chain(str(pki.client_cert), str(pki.client_key))
        with httpx.Client(verify=context) as http:
            assert http.get(f"{_https(server)}/assistants", timeout=5).status_code == 200


def test_tls_settings_are_checked(tmp_path: Path, pki: Pki) -> None:
    parsed = parse_settings({"server": {"tls": {"cert": str(pki.server_cert), "key": str(pki.server_key)}}})
    assert parsed.server.tls == TLSSettings(cert=str(pki.server_cert), key=str(pki.server_key))
    with pytest.raises(ConfigError, match=r"\[server.tls\] key 'key'"):
        parse_settings({"server": {"tls": {"cert": str(pki.server_cert)}}})
    with pytest.raises(ConfigError, match="no such file"):
        parse_settings({"server": {"tls": {"cert": str(tmp_path / "none.crt"), "key": str(pki.server_key)}}})
