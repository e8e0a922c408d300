"""``pygentic.v1.ChatCompletions`` servicer."""

from __future__ import annotations

from collections.abc import AsyncIterator

from grpc import aio

from pygentic.operations.chat import ChatOperations
from pygentic.proto.v1 import chat_pb2 as pb
from pygentic.proto.v1 import chat_pb2_grpc as pb_grpc


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
