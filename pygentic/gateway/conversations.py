"""``/v1/conversations`` routes: conversations are threads, their items the threads' messages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse

from pygentic.gateway.common import AFTER, LIMIT, ORDER, build, ops, respond
from pygentic.gateway.openapi import request_body, responses
from pygentic.proto.v1 import conversations_pb2 as pb
from pygentic.proto.v1 import responses_pb2

router = APIRouter(prefix="/v1/conversations", tags=["conversations"])
INCLUDE = Query(default=None, alias="include[]", description="Extra fields to include (none yet).")
CREATE_EXAMPLE = {
    "items": [{"type": "message", "role": "user", "content": "Hello!"}],
    "metadata": {"topic": "demo"},
}
UPDATE_EXAMPLE = {"metadata": {"topic": "project x"}}
ITEMS_EXAMPLE = {"items": [{"type": "message", "role": "user", "content": "One more thing."}]}


@router.post(
    "",
    summary="Create conversation",
    responses=responses(pb.Conversation, body=True),
    openapi_extra=request_body(pb.CreateConversationRequest),
)
async def create_conversation(
    request: Request,
    body: dict[str, Any] | None = Body(None, openapi_examples={"create": {"value": CREATE_EXAMPLE}}),
) -> JSONResponse:
    return respond(await ops(request).conversations.create(build(pb.CreateConversationRequest, body)))


@router.get("/{conversation_id}", summary="Retrieve conversation", responses=responses(pb.Conversation))
async def get_conversation(request: Request, conversation_id: str) -> JSONResponse:
    message = pb.GetConversationRequest(conversation_id=conversation_id)
    return respond(await ops(request).conversations.get(message))


@router.post(
    "/{conversation_id}",
    summary="Update conversation",
    responses=responses(pb.Conversation, body=True),
    openapi_extra=request_body(pb.UpdateConversationRequest, required=["metadata"], path=["conversation_id"]),
)
async def update_conversation(
    request: Request,
    conversation_id: str,
    body: dict[str, Any] = Body(..., openapi_examples={"update": {"value": UPDATE_EXAMPLE}}),
) -> JSONResponse:
    message = build(pb.UpdateConversationRequest, body, conversation_id=conversation_id)
    return respond(await ops(request).conversations.update(message))


@router.delete(
    "/{conversation_id}", summary="Delete conversation", responses=responses(pb.DeleteConversationResponse)
)
async def delete_conversation(request: Request, conversation_id: str) -> JSONResponse:
    message = pb.DeleteConversationRequest(conversation_id=conversation_id)
    return respond(await ops(request).conversations.delete(message))


@router.get(
    "/{conversation_id}/items", summary="List items", responses=responses(pb.ListConversationItemsResponse)
)
async def list_items(
    request: Request,
    conversation_id: str,
    limit: int | None = LIMIT,
    order: str | None = ORDER,
    after: str | None = AFTER,
    include: list[str] | None = INCLUDE,
) -> JSONResponse:
    message = build(
        pb.ListConversationItemsRequest,
        None,
        conversation_id=conversation_id,
        limit=limit,
        order=order,
        after=after,
        include=include,
    )
    return respond(await ops(request).conversations.list_items(message))


@router.post(
    "/{conversation_id}/items",
    summary="Create items",
    responses=responses(pb.ListConversationItemsResponse, body=True),
    openapi_extra=request_body(
        pb.CreateConversationItemsRequest, required=["items"], path=["conversation_id"]
    ),
)
async def create_items(
    request: Request,
    conversation_id: str,
    body: dict[str, Any] = Body(..., openapi_examples={"items": {"value": ITEMS_EXAMPLE}}),
    include: list[str] | None = INCLUDE,
) -> JSONResponse:
    message = build(pb.CreateConversationItemsRequest, body, conversation_id=conversation_id, include=include)
    return respond(await ops(request).conversations.create_items(message))


@router.get(
    "/{conversation_id}/items/{item_id}",
    summary="Retrieve item",
    responses=responses(responses_pb2.ResponseItem),
)
async def get_item(
    request: Request, conversation_id: str, item_id: str, include: list[str] | None = INCLUDE
) -> JSONResponse:
    message = build(
        pb.GetConversationItemRequest, None, conversation_id=conversation_id, item_id=item_id, include=include
    )
    return respond(await ops(request).conversations.get_item(message))


@router.delete(
    "/{conversation_id}/items/{item_id}", summary="Delete item", responses=responses(pb.Conversation)
)
async def delete_item(request: Request, conversation_id: str, item_id: str) -> JSONResponse:
    message = pb.DeleteConversationItemRequest(conversation_id=conversation_id, item_id=item_id)
    return respond(await ops(request).conversations.delete_item(message))
