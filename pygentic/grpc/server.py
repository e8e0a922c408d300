"""Assembles the ``grpc.aio`` server: servicers, health checking, reflection, interceptors."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from pygentic.config import DEFAULT_MAX_REQUEST_BYTES, TLSSettings
from pygentic.grpc.admin import AdminServicer
from pygentic.grpc.assistants import AssistantsServicer
from pygentic.grpc.chat import ChatCompletionsServicer
from pygentic.grpc.conversations import ConversationsServicer
from pygentic.grpc.files import FilesServicer
from pygentic.grpc.interceptors import ErrorAndLogInterceptor
from pygentic.grpc.messages import MessagesServicer
from pygentic.grpc.models import ModelsServicer
from pygentic.grpc.responses import ResponsesServicer
from pygentic.grpc.runs import RunsServicer
from pygentic.grpc.threads import ThreadsServicer
from pygentic.grpc.vector_stores import VectorStoresServicer
from pygentic.operations.bundle import Operations
from pygentic.proto.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    assistants_pb2,
    assistants_pb2_grpc,
    chat_pb2,
    chat_pb2_grpc,
    conversations_pb2,
    conversations_pb2_grpc,
    files_pb2,
    files_pb2_grpc,
    messages_pb2,
    messages_pb2_grpc,
    models_pb2,
    models_pb2_grpc,
    responses_pb2,
    responses_pb2_grpc,
    runs_pb2,
    runs_pb2_grpc,
    threads_pb2,
    threads_pb2_grpc,
    vector_stores_pb2,
    vector_stores_pb2_grpc,
)

SERVICE_NAMES = (
    assistants_pb2.DESCRIPTOR.services_by_name["Assistants"].full_name,
    threads_pb2.DESCRIPTOR.services_by_name["Threads"].full_name,
    messages_pb2.DESCRIPTOR.services_by_name["Messages"].full_name,
    runs_pb2.DESCRIPTOR.services_by_name["Runs"].full_name,
    files_pb2.DESCRIPTOR.services_by_name["Files"].full_name,
    vector_stores_pb2.DESCRIPTOR.services_by_name["VectorStores"].full_name,
    admin_pb2.DESCRIPTOR.services_by_name["Admin"].full_name,
    chat_pb2.DESCRIPTOR.services_by_name["ChatCompletions"].full_name,
    models_pb2.DESCRIPTOR.services_by_name["Models"].full_name,
    responses_pb2.DESCRIPTOR.services_by_name["Responses"].full_name,
    conversations_pb2.DESCRIPTOR.services_by_name["Conversations"].full_name,
)
MAX_RESPONSE_BYTES = 64 * 1024 * 1024


@dataclass
class GrpcServer:
    """A started-or-ready gRPC server, its health servicer and the port it is bound to."""

    server: aio.Server
    health: health.aio.HealthServicer
    port: int

    async def set_serving(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, status)


def build_server(
    operations: Operations,
    host: str,
    port: int,
    *,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    reuse_port: bool = False,
    tls: TLSSettings | None = None,
) -> GrpcServer:
    """Create the server with every servicer, bound to ``host:port`` (port 0 picks a free one). A request
    message above ``max_request_bytes`` is refused by grpc with RESOURCE_EXHAUSTED before it is decoded.
    ``reuse_port``: share the port with the other workers (SO_REUSEPORT; the kernel spreads connections);
    without it, a port already in use is an error. ``tls``: serve TLS (mutual TLS with a client CA)."""
    server = aio.server(
        interceptors=[
            ErrorAndLogInterceptor(
                operations.idempotency,
                operations.keys,
                lambda thread_id, run_id: operations.runs.watch(
                    runs_pb2.WatchRunRequest(thread_id=thread_id, run_id=run_id)
                ),
            )
        ],
        options=[
            ("grpc.max_receive_message_length", max_request_bytes),
            ("grpc.max_send_message_length", MAX_RESPONSE_BYTES),
            ("grpc.so_reuseport", 1 if reuse_port else 0),
            # Long run streams stay open through proxies and load balancers that drop idle connections.
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.keepalive_timeout_ms", 10_000),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0),
            ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ],
    )
    assistants_pb2_grpc.add_AssistantsServicer_to_server(AssistantsServicer(operations.assistants), server)
    threads_pb2_grpc.add_ThreadsServicer_to_server(ThreadsServicer(operations.threads), server)
    messages_pb2_grpc.add_MessagesServicer_to_server(MessagesServicer(operations.messages), server)
    runs_pb2_grpc.add_RunsServicer_to_server(RunsServicer(operations.runs), server)
    files_pb2_grpc.add_FilesServicer_to_server(FilesServicer(operations.files), server)
    admin_pb2_grpc.add_AdminServicer_to_server(AdminServicer(operations.keys), server)
    chat_pb2_grpc.add_ChatCompletionsServicer_to_server(ChatCompletionsServicer(operations.chat), server)
    models_pb2_grpc.add_ModelsServicer_to_server(ModelsServicer(operations.models), server)
    responses_pb2_grpc.add_ResponsesServicer_to_server(ResponsesServicer(operations.responses), server)
    conversations_pb2_grpc.add_ConversationsServicer_to_server(
        ConversationsServicer(operations.conversations), server
    )
    vector_stores_pb2_grpc.add_VectorStoresServicer_to_server(
        VectorStoresServicer(operations.vector_stores), server
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
        server,
    )
    address = f"{host}:{port}"
    if tls is None:
        bound = server.add_insecure_port(address)
    else:
        cert, key, client_ca = tls.read()
        credentials = grpc.ssl_server_credentials(
            [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
        )
        bound = server.add_secure_port(address, credentials)
    if bound == 0:
        raise OSError(f"cannot bind the gRPC server to {host}:{port}")
    return GrpcServer(server=server, health=health_servicer, port=bound)
