"""``pygentic.v1.VectorStores`` servicer."""

from __future__ import annotations

from grpc import aio

from pygentic.operations.vector_stores import VectorStoreOperations
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.proto.v1 import vector_stores_pb2 as pb
from pygentic.proto.v1 import vector_stores_pb2_grpc as pb_grpc


class VectorStoresServicer(pb_grpc.VectorStoresServicer):
    """Delegates each RPC to its operation."""

    def __init__(self, operations: VectorStoreOperations) -> None:
        self.ops = operations

    async def CreateVectorStore(
        self, request: pb.CreateVectorStoreRequest, context: aio.ServicerContext
    ) -> res.VectorStore:
        return await self.ops.create(request)

    async def GetVectorStore(
        self, request: pb.GetVectorStoreRequest, context: aio.ServicerContext
    ) -> res.VectorStore:
        return await self.ops.get(request)

    async def ListVectorStores(
        self, request: pb.ListVectorStoresRequest, context: aio.ServicerContext
    ) -> pb.ListVectorStoresResponse:
        return await self.ops.list(request)

    async def UpdateVectorStore(
        self, request: pb.UpdateVectorStoreRequest, context: aio.ServicerContext
    ) -> res.VectorStore:
        return await self.ops.update(request)

    async def DeleteVectorStore(
        self, request: pb.DeleteVectorStoreRequest, context: aio.ServicerContext
    ) -> pb.DeleteVectorStoreResponse:
        return await self.ops.delete(request)

    async def CreateVectorStoreFile(
        self, request: pb.CreateVectorStoreFileRequest, context: aio.ServicerContext
    ) -> res.VectorStoreFile:
        return await self.ops.create_file(request)

    async def GetVectorStoreFile(
        self, request: pb.GetVectorStoreFileRequest, context: aio.ServicerContext
    ) -> res.VectorStoreFile:
        return await self.ops.get_file(request)

    async def ListVectorStoreFiles(
        self, request: pb.ListVectorStoreFilesRequest, context: aio.ServicerContext
    ) -> pb.ListVectorStoreFilesResponse:
        return await self.ops.list_files(request)

    async def UpdateVectorStoreFile(
        self, request: pb.UpdateVectorStoreFileRequest, context: aio.ServicerContext
    ) -> res.VectorStoreFile:
        return await self.ops.update_file(request)

    async def DeleteVectorStoreFile(
        self, request: pb.DeleteVectorStoreFileRequest, context: aio.ServicerContext
    ) -> pb.DeleteVectorStoreFileResponse:
        return await self.ops.delete_file(request)

    async def SearchVectorStore(
        self, request: pb.SearchVectorStoreRequest, context: aio.ServicerContext
    ) -> pb.SearchVectorStoreResponse:
        return await self.ops.search(request)

    async def CreateFileBatch(
        self, request: pb.CreateFileBatchRequest, context: aio.ServicerContext
    ) -> res.VectorStoreFileBatch:
        return await self.ops.create_batch(request)

    async def GetFileBatch(
        self, request: pb.GetFileBatchRequest, context: aio.ServicerContext
    ) -> res.VectorStoreFileBatch:
        return await self.ops.get_batch(request)

    async def CancelFileBatch(
        self, request: pb.CancelFileBatchRequest, context: aio.ServicerContext
    ) -> res.VectorStoreFileBatch:
        return await self.ops.cancel_batch(request)

    async def ListFileBatchFiles(
        self, request: pb.ListFileBatchFilesRequest, context: aio.ServicerContext
    ) -> pb.ListVectorStoreFilesResponse:
        return await self.ops.list_batch_files(request)
