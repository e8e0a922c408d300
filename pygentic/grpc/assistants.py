"""``pygentic.v1.Assistants`` servicer."""

from __future__ import annotations

from grpc import aio

from pygentic.operations.assistants import AssistantOperations
from pygentic.proto.v1 import assistants_pb2 as pb
from pygentic.proto.v1 import assistants_pb2_grpc as pb_grpc
from pygentic.proto.v1 import resources_pb2 as res


class AssistantsServicer(pb_grpc.AssistantsServicer):
    """Delegates each RPC to its operation."""

    def __init__(self, operations: AssistantOperations) -> None:
        self.ops = operations

    async def CreateAssistant(
        self, request: pb.CreateAssistantRequest, context: aio.ServicerContext
    ) -> res.Assistant:
        return await self.ops.create(request)

    async def GetAssistant(
        self, request: pb.GetAssistantRequest, context: aio.ServicerContext
    ) -> res.Assistant:
        return await self.ops.get(request)

    async def ListAssistants(
        self, request: pb.ListAssistantsRequest, context: aio.ServicerContext
    ) -> pb.ListAssistantsResponse:
        return await self.ops.list(request)

    async def UpdateAssistant(
        self, request: pb.UpdateAssistantRequest, context: aio.ServicerContext
    ) -> res.Assistant:
        return await self.ops.update(request)

    async def DeleteAssistant(
        self, request: pb.DeleteAssistantRequest, context: aio.ServicerContext
    ) -> pb.DeleteAssistantResponse:
        return await self.ops.delete(request)
