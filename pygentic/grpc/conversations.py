"""``pygentic.v1.Conversations`` servicer."""

from __future__ import annotations

from grpc import aio

from pygentic.operations.conversations import ConversationOperations
from pygentic.proto.v1 import conversations_pb2 as pb
from pygentic.proto.v1 import conversations_pb2_grpc as pb_grpc
from pygentic.proto.v1 import responses_pb2


class ConversationsServicer(pb_grpc.ConversationsServicer):
    """Delegates each RPC to its operation."""

    def __init__(self, operations: ConversationOperations) -> None:
        self.ops = operations

    async def CreateConversation(
        self, request: pb.CreateConversationRequest, context: aio.ServicerContext
    ) -> pb.Conversation:
        return await self.ops.create(request)

    async def GetConversation(
        self, request: pb.GetConversationRequest, context: aio.ServicerContext
    ) -> pb.Conversation:
        return await self.ops.get(request)

    async def UpdateConversation(
        self, request: pb.UpdateConversationRequest, context: aio.ServicerContext
    ) -> pb.Conversation:
        return await self.ops.update(request)

    async def DeleteConversation(
        self, request: pb.DeleteConversationRequest, context: aio.ServicerContext
    ) -> pb.DeleteConversationResponse:
        return await self.ops.delete(request)

    async def ListConversationItems(
        self, request: pb.ListConversationItemsRequest, context: aio.ServicerContext
    ) -> pb.ListConversationItemsResponse:
        return await self.ops.list_items(request)

    async def CreateConversationItems(
        self, request: pb.CreateConversationItemsRequest, context: aio.ServicerContext
    ) -> pb.ListConversationItemsResponse:
        return await self.ops.create_items(request)

    async def GetConversationItem(
        self, request: pb.GetConversationItemRequest, context: aio.ServicerContext
    ) -> responses_pb2.ResponseItem:
        return await self.ops.get_item(request)

    async def DeleteConversationItem(
        self, request: pb.DeleteConversationItemRequest, context: aio.ServicerContext
    ) -> pb.Conversation:
        return await self.ops.delete_item(request)
