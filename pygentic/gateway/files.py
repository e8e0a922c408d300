"""``/v1/files`` routes: multipart upload, list, retrieve, delete, and the bytes as a stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.datastructures import UploadFile

from pygentic.errors import invalid
from pygentic.gateway.common import AFTER, BEFORE, LIMIT, ORDER, ops, page, respond
from pygentic.gateway.openapi import binary_responses, responses
from pygentic.operations.files import PURPOSES
from pygentic.proto.v1 import files_pb2 as pb
from pygentic.proto.v1 import resources_pb2 as res

router = APIRouter(prefix="/v1/files", tags=["files"])

UPLOAD_CHUNK = 1024 * 1024
PURPOSE = Query(default=None, description="Only files of this purpose.")
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "purpose"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "purpose": {"type": "string", "enum": list(PURPOSES)},
                        "expires_after[anchor]": {"type": "string", "enum": ["created_at"]},
                        "expires_after[seconds]": {"type": "integer", "minimum": 3600, "maximum": 2592000},
                    },
                }
            }
        },
    }
}


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(UPLOAD_CHUNK):
        yield chunk


@router.post(
    "",
    summary="Upload file",
    responses=responses(res.File, body=True),
    openapi_extra=UPLOAD_BODY,
)
async def upload_file(request: Request) -> JSONResponse:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise invalid("file", "upload the file as multipart/form-data with 'file' and 'purpose' parts.")
    async with request.form(max_files=1, max_fields=16) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise invalid("file", "a 'file' part with the file's bytes is required.")
        header = pb.FileUploadHeader(filename=upload.filename or "", purpose=str(form.get("purpose") or ""))
        anchor, seconds = form.get("expires_after[anchor]"), form.get("expires_after[seconds]")
        if anchor is not None or seconds is not None:
            header.expires_after.anchor = str(anchor or "")
            try:
                header.expires_after.seconds = int(str(seconds))
            except ValueError as exc:
                raise invalid("expires_after.seconds", "must be an integer.") from exc
        return respond(await ops(request).files.upload(header, _chunks(upload)))


@router.get("", summary="List files", responses=responses(pb.ListFilesResponse))
async def list_files(
    request: Request,
    purpose: str | None = PURPOSE,
    limit: int | None = LIMIT,
    order: str | None = ORDER,
    after: str | None = AFTER,
    before: str | None = BEFORE,
) -> JSONResponse:
    message = page(pb.ListFilesRequest, limit, order, after, before, purpose=purpose)
    return respond(await ops(request).files.list(message))


@router.get("/{file_id}", summary="Retrieve file", responses=responses(res.File))
async def get_file(request: Request, file_id: str) -> JSONResponse:
    return respond(await ops(request).files.get(pb.GetFileRequest(file_id=file_id)))


@router.delete("/{file_id}", summary="Delete file", responses=responses(pb.DeleteFileResponse))
async def delete_file(request: Request, file_id: str) -> JSONResponse:
    return respond(await ops(request).files.delete(pb.DeleteFileRequest(file_id=file_id)))


@router.get("/{file_id}/content", summary="Retrieve file content", responses=binary_responses())
async def file_content(request: Request, file_id: str) -> StreamingResponse:
    row, data = await ops(request).files.content(pb.GetFileContentRequest(file_id=file_id))
    return StreamingResponse(
        data,
        media_type="application/octet-stream",
        headers={"Content-Length": str(row.bytes), "Content-Disposition": _disposition(row.filename)},
    )


def _disposition(filename: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(filename, safe='')}"
