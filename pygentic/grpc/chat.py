"""``pygentic.v1.ChatCompletions`` and ``pygentic.v1.Models`` servicers."""

from __future__ import annotations

from collections.abc import AsyncIterator

from grpc import aio

from pygentic.operations.chat import ChatOperations
from pygentic.operations.models import ModelOperations
from pygentic.proto.v1 import chat_pb2 as pb
from pygentic.proto.v1 import chat_pb2_grpc as pb_grpc
from pygentic.proto.v1 import models_pb2, models_pb2_grpc


class ChatCompletionsServicer(pb_grpc.ChatCompletionsServicer):
    """Delegates each RPC to its operation."""

    def __init__(self, operations: ChatOperations) -> None:
        self.ops = operations

    async def CreateChatCompletion(
        self, request: pb.CreateChatCompletionRequest, context: aio.ServicerContext
    ) -> pb.ChatCompletion:
        return await self.ops.create(request)

    async def StreamChatCompletion(
        self, request: pb.CreateChatCompletionRequest, context: aio.ServicerContext
    ) -> AsyncIterator[pb.ChatCompletionChunk]:
        async for chunk in await self.ops.stream(request):
            yield chunk


class ModelsServicer(models_pb2_grpc.ModelsServicer):
    """Delegates each RPC to its operation."""

    def __init__(self, operations: ModelOperations) -> None:
        self.ops = operations

    async def ListModels(
        self, request: models_pb2.ListModelsRequest, context: aio.ServicerContext
    ) -> models_pb2.ListModelsResponse:
        return await self.ops.list()

    async def GetModel(
        self, request: models_pb2.GetModelRequest, context: aio.ServicerContext
    ) -> models_pb2.Model:
        return await self.ops.get(request.model)
