"""``pygentic.v1.Models`` servicer."""

from __future__ import annotations

from grpc import aio

from pygentic.operations.models import ModelOperations
from pygentic.proto.v1 import models_pb2, models_pb2_grpc


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
