"""``/v1/vector_stores`` routes: stores, their files and search."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse

from pygentic.gateway.common import AFTER, BEFORE, LIMIT, ORDER, build, ops, page, respond, with_update_mask
from pygentic.gateway.openapi import request_body, responses
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.proto.v1 import vector_stores_pb2 as pb

router = APIRouter(prefix="/v1/vector_stores", tags=["vector stores"])

CREATE_EXAMPLE = {"name": "Support FAQ", "file_ids": [], "metadata": {"team": "docs"}}
SEARCH_EXAMPLE = {"query": "How do I reset my password?", "max_num_results": 5}
MODIFY_EXAMPLE = {"name": "Support FAQ (v2)", "metadata": {"team": "docs", "version": "2"}}
FILE_EXAMPLE = {"file_id": "file-abc123", "attributes": {"topic": "billing"}}
ATTRIBUTES_EXAMPLE = {"attributes": {"topic": "accounts", "year": 2025}}
BATCH_EXAMPLE = {"file_ids": ["file-abc123"], "chunking_strategy": {"type": "auto"}}
FILTER = Query(default=None, description="Only files in this status.")


@router.post(
    "",
    summary="Create vector store",
    responses=responses(res.VectorStore, body=True),
    openapi_extra=request_body(pb.CreateVectorStoreRequest),
)
async def create_vector_store(
    request: Request, body: dict[str, Any] = Body(..., openapi_examples={"create": {"value": CREATE_EXAMPLE}})
) -> JSONResponse:
    return respond(await ops(request).vector_stores.create(build(pb.CreateVectorStoreRequest, body)))


@router.get("", summary="List vector stores", responses=responses(pb.ListVectorStoresResponse))
async def list_vector_stores(
    request: Request,
    limit: int | None = LIMIT,
    order: str | None = ORDER,
    after: str | None = AFTER,
    before: str | None = BEFORE,
) -> JSONResponse:
    message = page(pb.ListVectorStoresRequest, limit, order, after, before)
    return respond(await ops(request).vector_stores.list(message))


@router.get("/{vector_store_id}", summary="Retrieve vector store", responses=responses(res.VectorStore))
async def get_vector_store(request: Request, vector_store_id: str) -> JSONResponse:
    message = pb.GetVectorStoreRequest(vector_store_id=vector_store_id)
    return respond(await ops(request).vector_stores.get(message))


@router.post(
    "/{vector_store_id}",
    summary="Modify vector store",
    responses=responses(res.VectorStore, body=True),
    openapi_extra=request_body(pb.UpdateVectorStoreRequest, path=["vector_store_id"]),
)
async def modify_vector_store(
    request: Request,
    vector_store_id: str,
    body: dict[str, Any] = Body(..., openapi_examples={"modify": {"value": MODIFY_EXAMPLE}}),
) -> JSONResponse:
    message = with_update_mask(
        build(pb.UpdateVectorStoreRequest, body, vector_store_id=vector_store_id), body
    )
    return respond(await ops(request).vector_stores.update(message))


@router.delete(
    "/{vector_store_id}", summary="Delete vector store", responses=responses(pb.DeleteVectorStoreResponse)
)
async def delete_vector_store(request: Request, vector_store_id: str) -> JSONResponse:
    message = pb.DeleteVectorStoreRequest(vector_store_id=vector_store_id)
    return respond(await ops(request).vector_stores.delete(message))


@router.post(
    "/{vector_store_id}/files",
    summary="Create vector store file",
    responses=responses(res.VectorStoreFile, body=True),
    openapi_extra=request_body(
        pb.CreateVectorStoreFileRequest, required=["file_id"], path=["vector_store_id"]
    ),
)
async def create_vector_store_file(
    request: Request,
    vector_store_id: str,
    body: dict[str, Any] = Body(..., openapi_examples={"file": {"value": FILE_EXAMPLE}}),
) -> JSONResponse:
    message = build(pb.CreateVectorStoreFileRequest, body, vector_store_id=vector_store_id)
    return respond(await ops(request).vector_stores.create_file(message))


@router.get(
    "/{vector_store_id}/files",
    summary="List vector store files",
    responses=responses(pb.ListVectorStoreFilesResponse),
)
async def list_vector_store_files(
    request: Request,
    vector_store_id: str,
    limit: int | None = LIMIT,
    order: str | None = ORDER,
    after: str | None = AFTER,
    before: str | None = BEFORE,
    filter: str | None = FILTER,
) -> JSONResponse:
    message = page(
        pb.ListVectorStoreFilesRequest,
        limit,
        order,
        after,
        before,
        vector_store_id=vector_store_id,
        filter=filter,
    )
    return respond(await ops(request).vector_stores.list_files(message))


@router.get(
    "/{vector_store_id}/files/{file_id}",
    summary="Retrieve vector store file",
    responses=responses(res.VectorStoreFile),
)
async def get_vector_store_file(request: Request, vector_store_id: str, file_id: str) -> JSONResponse:
    message = pb.GetVectorStoreFileRequest(vector_store_id=vector_store_id, file_id=file_id)
    return respond(await ops(request).vector_stores.get_file(message))


@router.post(
    "/{vector_store_id}/files/{file_id}",
    summary="Update vector store file attributes",
    responses=responses(res.VectorStoreFile, body=True),
    openapi_extra=request_body(pb.UpdateVectorStoreFileRequest, path=["vector_store_id", "file_id"]),
)
async def update_vector_store_file(
    request: Request,
    vector_store_id: str,
    file_id: str,
    body: dict[str, Any] = Body(..., openapi_examples={"attributes": {"value": ATTRIBUTES_EXAMPLE}}),
) -> JSONResponse:
    message = build(pb.UpdateVectorStoreFileRequest, body, vector_store_id=vector_store_id, file_id=file_id)
    return respond(await ops(request).vector_stores.update_file(message))


@router.delete(
    "/{vector_store_id}/files/{file_id}",
    summary="Delete vector store file",
    responses=responses(pb.DeleteVectorStoreFileResponse),
)
async def delete_vector_store_file(request: Request, vector_store_id: str, file_id: str) -> JSONResponse:
    message = pb.DeleteVectorStoreFileRequest(vector_store_id=vector_store_id, file_id=file_id)
    return respond(await ops(request).vector_stores.delete_file(message))


@router.post(
    "/{vector_store_id}/search",
    summary="Search vector store",
    responses=responses(pb.SearchVectorStoreResponse, body=True),
    openapi_extra=request_body(pb.SearchVectorStoreRequest, required=["query"], path=["vector_store_id"]),
)
async def search_vector_store(
    request: Request,
    vector_store_id: str,
    body: dict[str, Any] = Body(..., openapi_examples={"search": {"value": SEARCH_EXAMPLE}}),
) -> JSONResponse:
    message = build(pb.SearchVectorStoreRequest, body, vector_store_id=vector_store_id)
    return respond(await ops(request).vector_stores.search(message))


@router.post(
    "/{vector_store_id}/file_batches",
    summary="Create vector store file batch",
    responses=responses(res.VectorStoreFileBatch, body=True),
    openapi_extra=request_body(pb.CreateFileBatchRequest, path=["vector_store_id"]),
)
async def create_file_batch(
    request: Request,
    vector_store_id: str,
    body: dict[str, Any] = Body(..., openapi_examples={"batch": {"value": BATCH_EXAMPLE}}),
) -> JSONResponse:
    message = build(pb.CreateFileBatchRequest, body, vector_store_id=vector_store_id)
    return respond(await ops(request).vector_stores.create_batch(message))


@router.get(
    "/{vector_store_id}/file_batches/{batch_id}",
    summary="Retrieve vector store file batch",
    responses=responses(res.VectorStoreFileBatch),
)
async def get_file_batch(request: Request, vector_store_id: str, batch_id: str) -> JSONResponse:
    message = pb.GetFileBatchRequest(vector_store_id=vector_store_id, batch_id=batch_id)
    return respond(await ops(request).vector_stores.get_batch(message))


@router.post(
    "/{vector_store_id}/file_batches/{batch_id}/cancel",
    summary="Cancel vector store file batch",
    responses=responses(res.VectorStoreFileBatch),
)
async def cancel_file_batch(request: Request, vector_store_id: str, batch_id: str) -> JSONResponse:
    message = pb.CancelFileBatchRequest(vector_store_id=vector_store_id, batch_id=batch_id)
    return respond(await ops(request).vector_stores.cancel_batch(message))


@router.get(
    "/{vector_store_id}/file_batches/{batch_id}/files",
    summary="List vector store files in a batch",
    responses=responses(pb.ListVectorStoreFilesResponse),
)
async def list_file_batch_files(
    request: Request,
    vector_store_id: str,
    batch_id: str,
    limit: int | None = LIMIT,
    order: str | None = ORDER,
    after: str | None = AFTER,
    before: str | None = BEFORE,
    filter: str | None = FILTER,
) -> JSONResponse:
    message = page(
        pb.ListFileBatchFilesRequest,
        limit,
        order,
        after,
        before,
        vector_store_id=vector_store_id,
        batch_id=batch_id,
        filter=filter,
    )
    return respond(await ops(request).vector_stores.list_batch_files(message))
