"""``pygentic.v1.Threads`` servicer."""

from __future__ import annotations

from grpc import aio

from pygentic.operations.threads import ThreadOperations
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.proto.v1 import threads_pb2 as pb
from pygentic.proto.v1 import threads_pb2_grpc as pb_grpc


class ThreadsServicer(pb_grpc.ThreadsServicer):
    """Delegates each RPC to its operation."""

    def __init__(self, operations: ThreadOperations) -> None:
        self.ops = operations

    async def CreateThread(self, request: pb.CreateThreadRequest, context: aio.ServicerContext) -> res.Thread:
        return await self.ops.create(request)

    async def GetThread(self, request: pb.GetThreadRequest, context: aio.ServicerContext) -> res.Thread:
        return await self.ops.get(request)

    async def UpdateThread(self, request: pb.UpdateThreadRequest, context: aio.ServicerContext) -> res.Thread:
        return await self.ops.update(request)

    async def DeleteThread(
        self, request: pb.DeleteThreadRequest, context: aio.ServicerContext
    ) -> pb.DeleteThreadResponse:
        return await self.ops.delete(request)
