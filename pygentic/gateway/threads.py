"""``/v1/threads`` routes (``POST /v1/threads/runs`` lives with the runs and is registered first)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from pygentic.gateway.common import build, ops, respond, with_update_mask
from pygentic.gateway.openapi import request_body, responses
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.proto.v1 import threads_pb2 as pb

router = APIRouter(prefix="/v1/threads", tags=["threads"])

CREATE_EXAMPLE = {
    "messages": [{"role": "user", "content": "What is 12 times 12?"}],
    "metadata": {"topic": "math"},
}
MODIFY_EXAMPLE = {"metadata": {"topic": "arithmetic"}}


@router.post(
    "",
    summary="Create thread",
    responses=responses(res.Thread, body=True),
    openapi_extra=request_body(pb.CreateThreadRequest),
)
async def create_thread(
    request: Request,
    body: dict[str, Any] | None = Body(None, openapi_examples={"create": {"value": CREATE_EXAMPLE}}),
) -> JSONResponse:
    return respond(await ops(request).threads.create(build(pb.CreateThreadRequest, body)))


@router.get("/{thread_id}", summary="Retrieve thread", responses=responses(res.Thread))
async def get_thread(request: Request, thread_id: str) -> JSONResponse:
    return respond(await ops(request).threads.get(pb.GetThreadRequest(thread_id=thread_id)))


@router.post(
    "/{thread_id}",
    summary="Modify thread",
    responses=responses(res.Thread, body=True),
    openapi_extra=request_body(pb.UpdateThreadRequest, path=["thread_id"]),
)
async def modify_thread(
    request: Request,
    thread_id: str,
    body: dict[str, Any] = Body(..., openapi_examples={"modify": {"value": MODIFY_EXAMPLE}}),
) -> JSONResponse:
    message = with_update_mask(build(pb.UpdateThreadRequest, body, thread_id=thread_id), body)
    return respond(await ops(request).threads.update(message))


@router.delete("/{thread_id}", summary="Delete thread", responses=responses(pb.DeleteThreadResponse))
async def delete_thread(request: Request, thread_id: str) -> JSONResponse:
    return respond(await ops(request).threads.delete(pb.DeleteThreadRequest(thread_id=thread_id)))
