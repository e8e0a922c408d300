"""``pygentic.v1.Files`` servicer."""

from __future__ import annotations

from collections.abc import AsyncIterator

from grpc import aio

from pygentic.errors import invalid
from pygentic.operations.files import FileOperations
from pygentic.proto.v1 import files_pb2 as pb
from pygentic.proto.v1 import files_pb2_grpc as pb_grpc
from pygentic.proto.v1 import resources_pb2 as res


class FilesServicer(pb_grpc.FilesServicer):
    """Delegates each RPC to its operation; an upload's header and chunks are split here."""

    def __init__(self, operations: FileOperations) -> None:
        self.ops = operations

    async def UploadFile(
        self, request_iterator: AsyncIterator[pb.UploadFileRequest], context: aio.ServicerContext
    ) -> res.File:
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("part") != "header":
            raise invalid("header", "the first message of an upload must carry the file's header.")

        async def chunks() -> AsyncIterator[bytes]:
            async for message in request_iterator:
                if message.WhichOneof("part") != "chunk":
                    raise invalid("header", "only the first message of an upload may carry a header.")
                yield message.chunk

        return await self.ops.upload(first.header, chunks())

    async def GetFile(self, request: pb.GetFileRequest, context: aio.ServicerContext) -> res.File:
        return await self.ops.get(request)

    async def ListFiles(
        self, request: pb.ListFilesRequest, context: aio.ServicerContext
    ) -> pb.ListFilesResponse:
        return await self.ops.list(request)

    async def DeleteFile(
        self, request: pb.DeleteFileRequest, context: aio.ServicerContext
    ) -> pb.DeleteFileResponse:
        return await self.ops.delete(request)

    async def GetFileContent(
        self, request: pb.GetFileContentRequest, context: aio.ServicerContext
    ) -> AsyncIterator[pb.GetFileContentResponse]:
        _, data = await self.ops.content(request)
        async for chunk in data:
            yield pb.GetFileContentResponse(data=chunk)
