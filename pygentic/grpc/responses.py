"""``pygentic.v1.Responses`` servicer."""

from __future__ import annotations

from collections.abc import AsyncIterator

from grpc import aio

from pygentic.operations.responses import ResponseOperations
from pygentic.proto.v1 import responses_pb2 as pb
from pygentic.proto.v1 import responses_pb2_grpc as pb_grpc


class ResponsesServicer(pb_grpc.ResponsesServicer):
    """Delegates each RPC to its operation."""

    def __init__(self, operations: ResponseOperations) -> None:
        self.ops = operations

    async def CreateResponse(
        self, request: pb.CreateResponseRequest, context: aio.ServicerContext
    ) -> pb.Response:
        return await self.ops.create(request)

    async def StreamResponse(
        self, request: pb.CreateResponseRequest, context: aio.ServicerContext
    ) -> AsyncIterator[pb.ResponseEvent]:
        async for event in await self.ops.stream(request):
            yield event

    async def GetResponse(self, request: pb.GetResponseRequest, context: aio.ServicerContext) -> pb.Response:
        return await self.ops.get(request)

    async def DeleteResponse(
        self, request: pb.DeleteResponseRequest, context: aio.ServicerContext
    ) -> pb.DeleteResponseResponse:
        return await self.ops.delete(request)

    async def CancelResponse(
        self, request: pb.CancelResponseRequest, context: aio.ServicerContext
    ) -> pb.Response:
        return await self.ops.cancel(request)

    async def ListInputItems(
        self, request: pb.ListInputItemsRequest, context: aio.ServicerContext
    ) -> pb.ListInputItemsResponse:
        return await self.ops.list_input_items(request)
