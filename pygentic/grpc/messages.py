"""``pygentic.v1.Messages`` servicer."""

from __future__ import annotations

from grpc import aio

from pygentic.operations.messages import MessageOperations
from pygentic.proto.v1 import messages_pb2 as pb
from pygentic.proto.v1 import messages_pb2_grpc as pb_grpc
from pygentic.proto.v1 import resources_pb2 as res


class MessagesServicer(pb_grpc.MessagesServicer):
    """Delegates each RPC to its operation."""

    def __init__(self, operations: MessageOperations) -> None:
        self.ops = operations

    async def CreateMessage(
        self, request: pb.CreateMessageRequest, context: aio.ServicerContext
    ) -> res.Message:
        return await self.ops.create(request)

    async def GetMessage(self, request: pb.GetMessageRequest, context: aio.ServicerContext) -> res.Message:
        return await self.ops.get(request)

    async def ListMessages(
        self, request: pb.ListMessagesRequest, context: aio.ServicerContext
    ) -> pb.ListMessagesResponse:
        return await self.ops.list(request)

    async def UpdateMessage(
        self, request: pb.UpdateMessageRequest, context: aio.ServicerContext
    ) -> res.Message:
        return await self.ops.update(request)

    async def DeleteMessage(
        self, request: pb.DeleteMessageRequest, context: aio.ServicerContext
    ) -> pb.DeleteMessageResponse:
        return await self.ops.delete(request)
