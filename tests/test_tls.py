"""TLS on both doors from PEM files in ``[server.tls]``, and mutual TLS with a client CA: real
certificates (made here with ``cryptography``), a real grpc secure channel, the openai SDK over HTTPS."""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import openai
import pytest
from conftest import make_settings
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fake_upstream import FakeUpstream
from threaded_server import ThreadedServer

from pygentic.config import ConfigError, ServerSettings, TLSSettings, parse_settings
from pygentic.proto.v1 import assistants_pb2, assistants_pb2_grpc


@dataclass
class Pki:
    """A CA and the PEM files it signed: the server's (for 127.0.0.1 / localhost) and a client's."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write(path: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> tuple[Path, Path]:
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path.with_suffix(".crt"), path.with_suffix(".key")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Pygentic test CA"))
        .issuer_name(_name("Pygentic test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, _ = _write(directory / "ca", ca_key, ca)

    def issue(common: str, sans: list[x509.GeneralName] | None) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return _write(directory / common, key, builder.sign(ca_key, hashes.SHA256()))

    server_cert, server_key = issue(
        "server", [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    client_cert, client_key = issue("client", None)
    return Pki(ca_path, server_cert, server_key, client_cert, client_key)


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
