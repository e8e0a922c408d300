"""How a :class:`~pygentic.client.Client` reaches the server: target, TLS, API key, retries and deadlines."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc import aio


def _pem(value: bytes | str | Path | None) -> bytes | None:
    """PEM bytes given as bytes, or as the path of a file holding them."""
    if value is None or isinstance(value, bytes):
        return value
    return Path(value).read_bytes()


@dataclass(frozen=True)
class TLS:
    """TLS towards a server started with ``[server.tls]``.

    ``root_certificates``: the CA that signed the server's certificate (PEM bytes or a path; None = the
    system's roots). ``certificate_chain`` and ``private_key``: this client's certificate, for a server that
    requires mutual TLS (``client_ca``). ``server_name``: the name to check the certificate against when it
    differs from the target's host.
    """

    root_certificates: bytes | str | Path | None = None
    certificate_chain: bytes | str | Path | None = None
    private_key: bytes | str | Path | None = None
    server_name: str | None = None

    def credentials(self) -> grpc.ChannelCredentials:
        """The channel credentials these options describe."""
        if (self.certificate_chain is None) != (self.private_key is None):
            raise ValueError("TLS: give certificate_chain and private_key together (mutual TLS needs both)")
        return grpc.ssl_channel_credentials(
            root_certificates=_pem(self.root_certificates),
            private_key=_pem(self.private_key),
            certificate_chain=_pem(self.certificate_chain),
        )


@dataclass(frozen=True)
class RetryPolicy:
    """gRPC's own retries (a service config on the channel) for calls that end UNAVAILABLE: the server is
    restarting, a replica went away, the connection dropped before an answer.

    A call is retried only before the server sent any of its answer, so a streamed run is never replayed
    half-way. The client sends an ``idempotency-key`` with every call that creates or changes something, the
    same on every attempt, so a retry of a create whose answer was lost gets the first answer back instead of
    making a second object. ``max_attempts`` counts the first call (gRPC caps it at 5).
    """

    max_attempts: int = 5
    initial_backoff: float = 0.2
    max_backoff: float = 5.0
    backoff_multiplier: float = 2.0
    retryable_status_codes: Sequence[str] = ("UNAVAILABLE",)

    def service_config(self) -> str:
        """The channel's ``grpc.service_config`` JSON."""
        if not 2 <= self.max_attempts <= 5:
            raise ValueError(
                "RetryPolicy.max_attempts must be 2 to 5 (gRPC's limit); use retry=None for none"
            )
        policy = {
            "maxAttempts": self.max_attempts,
            "initialBackoff": f"{self.initial_backoff:.3f}s",
            "maxBackoff": f"{self.max_backoff:.3f}s",
            "backoffMultiplier": self.backoff_multiplier,
            "retryableStatusCodes": list(self.retryable_status_codes),
        }
        # An empty name is every method of every service on the channel (gRPC's default method config).
        return json.dumps({"methodConfig": [{"name": [{}], "retryPolicy": policy}]})


@dataclass(frozen=True)
class Connection:
    """Where and how to connect. ``timeout`` is the deadline of each unary call in seconds;
    ``stream_timeout`` the deadline of a streamed run (None: as long as the run takes, bounded by the server's
    own ``[runs] deadline``)."""

    target: str = "127.0.0.1:50051"
    api_key: str | None = None
    tls: TLS | None = None
    retry: RetryPolicy | None = field(default_factory=RetryPolicy)
    timeout: float | None = 30.0
    stream_timeout: float | None = None
    options: Sequence[tuple[str, str | int]] = ()

    def channel(self) -> aio.Channel:
        """A new channel to the target with these options."""
        options: list[tuple[str, str | int]] = list(self.options)
        if self.retry is not None:
            options += [("grpc.enable_retries", 1), ("grpc.service_config", self.retry.service_config())]
        else:
            options.append(("grpc.enable_retries", 0))
        if self.tls is None:
            return aio.insecure_channel(self.target, options=options)
        if self.tls.server_name:
            options.append(("grpc.ssl_target_name_override", self.tls.server_name))
        return aio.secure_channel(self.target, self.tls.credentials(), options=options)

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The metadata every call carries (the API key)."""
        return (("authorization", f"Bearer {self.api_key}"),) if self.api_key else ()
