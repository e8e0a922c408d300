"""``pygentic.v1.Runs`` servicer: unary methods and server-streaming run events."""

from __future__ import annotations

from collections.abc import AsyncIterator

from grpc import aio

from pygentic.operations.runs import RunOperations
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.proto.v1 import runs_pb2 as pb
from pygentic.proto.v1 import runs_pb2_grpc as pb_grpc


class RunsServicer(pb_grpc.RunsServicer):
    """Delegates each RPC to its operation. A client that leaves a stream does not stop the run."""

    def __init__(self, operations: RunOperations) -> None:
        self.ops = operations

    async def CreateRun(self, request: pb.CreateRunRequest, context: aio.ServicerContext) -> res.Run:
        return await self.ops.create(request)

    async def StreamRun(
        self, request: pb.CreateRunRequest, context: aio.ServicerContext
    ) -> AsyncIterator[pb.RunEvent]:
        async for event in self.ops.stream(request):
            yield event

    async def CreateThreadAndRun(
        self, request: pb.CreateThreadAndRunRequest, context: aio.ServicerContext
    ) -> res.Run:
        return await self.ops.create_thread_and_run(request)

    async def StreamThreadAndRun(
        self, request: pb.CreateThreadAndRunRequest, context: aio.ServicerContext
    ) -> AsyncIterator[pb.RunEvent]:
        async for event in self.ops.stream_thread_and_run(request):
            yield event

    async def GetRun(self, request: pb.GetRunRequest, context: aio.ServicerContext) -> res.Run:
        return await self.ops.get(request)

    async def ListRuns(
        self, request: pb.ListRunsRequest, context: aio.ServicerContext
    ) -> pb.ListRunsResponse:
        return await self.ops.list(request)

    async def UpdateRun(self, request: pb.UpdateRunRequest, context: aio.ServicerContext) -> res.Run:
        return await self.ops.update(request)

    async def CancelRun(self, request: pb.CancelRunRequest, context: aio.ServicerContext) -> res.Run:
        return await self.ops.cancel(request)

    async def SubmitToolOutputs(
        self, request: pb.SubmitToolOutputsRequest, context: aio.ServicerContext
    ) -> res.Run:
        return await self.ops.submit_tool_outputs(request)

    async def StreamSubmitToolOutputs(
        self, request: pb.SubmitToolOutputsRequest, context: aio.ServicerContext
    ) -> AsyncIterator[pb.RunEvent]:
        async for event in self.ops.stream_submit_tool_outputs(request):
            yield event

    async def WatchRun(
        self, request: pb.WatchRunRequest, context: aio.ServicerContext
    ) -> AsyncIterator[pb.RunEvent]:
        async for event in self.ops.watch(request):
            yield event

    async def ListRunSteps(
        self, request: pb.ListRunStepsRequest, context: aio.ServicerContext
    ) -> pb.ListRunStepsResponse:
        return await self.ops.list_steps(request)

    async def GetRunStep(self, request: pb.GetRunStepRequest, context: aio.ServicerContext) -> res.RunStep:
        return await self.ops.get_step(request)
