"""``/v1/threads/{thread_id}/messages`` routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse

from pygentic.gateway.common import AFTER, BEFORE, LIMIT, ORDER, build, ops, page, respond, with_update_mask
from pygentic.gateway.openapi import request_body, responses
from pygentic.proto.v1 import messages_pb2 as pb
from pygentic.proto.v1 import resources_pb2 as res

router = APIRouter(prefix="/v1/threads/{thread_id}/messages", tags=["messages"])

CREATE_EXAMPLE = {"role": "user", "content": "Can you help me solve 3x + 11 = 14?"}
MODIFY_EXAMPLE = {"metadata": {"reviewed": "yes"}}


@router.post(
    "",
    summary="Create message",
    responses=responses(res.Message, body=True),
    openapi_extra=request_body(pb.CreateMessageRequest, required=["role", "content"], path=["thread_id"]),
)
async def create_message(
    request: Request,
    thread_id: str,
    body: dict[str, Any] = Body(..., openapi_examples={"create": {"value": CREATE_EXAMPLE}}),
) -> JSONResponse:
    return respond(
        await ops(request).messages.create(build(pb.CreateMessageRequest, body, thread_id=thread_id))
    )


@router.get("", summary="List messages", responses=responses(pb.ListMessagesResponse))
async def list_messages(
    request: Request,
    thread_id: str,
    limit: int | None = LIMIT,
    order: str | None = ORDER,
    after: str | None = AFTER,
    before: str | None = BEFORE,
    run_id: str | None = Query(default=None, description="Only the messages this run generated."),
) -> JSONResponse:
    message = page(pb.ListMessagesRequest, limit, order, after, before, thread_id=thread_id, run_id=run_id)
    return respond(await ops(request).messages.list(message))


@router.get("/{message_id}", summary="Retrieve message", responses=responses(res.Message))
async def get_message(request: Request, thread_id: str, message_id: str) -> JSONResponse:
    return respond(
        await ops(request).messages.get(pb.GetMessageRequest(thread_id=thread_id, message_id=message_id))
    )


@router.post(
    "/{message_id}",
    summary="Modify message",
    responses=responses(res.Message, body=True),
    openapi_extra=request_body(pb.UpdateMessageRequest, path=["thread_id", "message_id"]),
)
async def modify_message(
    request: Request,
    thread_id: str,
    message_id: str,
    body: dict[str, Any] = Body(..., openapi_examples={"modify": {"value": MODIFY_EXAMPLE}}),
) -> JSONResponse:
    message = with_update_mask(
        build(pb.UpdateMessageRequest, body, thread_id=thread_id, message_id=message_id), body
    )
    return respond(await ops(request).messages.update(message))


@router.delete("/{message_id}", summary="Delete message", responses=responses(pb.DeleteMessageResponse))
async def delete_message(request: Request, thread_id: str, message_id: str) -> JSONResponse:
    return respond(
        await ops(request).messages.delete(
            pb.DeleteMessageRequest(thread_id=thread_id, message_id=message_id)
        )
    )
