"""``/v1/assistants`` routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from pygentic.gateway.common import AFTER, BEFORE, LIMIT, ORDER, build, ops, page, respond, with_update_mask
from pygentic.gateway.openapi import request_body, responses
from pygentic.proto.v1 import assistants_pb2 as pb
from pygentic.proto.v1 import resources_pb2 as res

router = APIRouter(prefix="/v1/assistants", tags=["assistants"])

CREATE_EXAMPLE = {
    "model": "local",
    "name": "Math tutor",
    "instructions": "You are a personal math tutor. Answer briefly.",
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather of a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ],
    "metadata": {"team": "docs"},
}
MODIFY_EXAMPLE = {"name": "Math tutor (v2)", "metadata": {"team": "docs", "version": "2"}}


@router.post(
    "",
    summary="Create assistant",
    responses=responses(res.Assistant, body=True),
    openapi_extra=request_body(pb.CreateAssistantRequest, required=["model"]),
)
async def create_assistant(
    request: Request, body: dict[str, Any] = Body(..., openapi_examples={"create": {"value": CREATE_EXAMPLE}})
) -> JSONResponse:
    return respond(await ops(request).assistants.create(build(pb.CreateAssistantRequest, body)))


@router.get("", summary="List assistants", responses=responses(pb.ListAssistantsResponse))
async def list_assistants(
    request: Request,
    limit: int | None = LIMIT,
    order: str | None = ORDER,
    after: str | None = AFTER,
    before: str | None = BEFORE,
) -> JSONResponse:
    return respond(
        await ops(request).assistants.list(page(pb.ListAssistantsRequest, limit, order, after, before))
    )


@router.get("/{assistant_id}", summary="Retrieve assistant", responses=responses(res.Assistant))
async def get_assistant(request: Request, assistant_id: str) -> JSONResponse:
    return respond(await ops(request).assistants.get(pb.GetAssistantRequest(assistant_id=assistant_id)))


@router.post(
    "/{assistant_id}",
    summary="Modify assistant",
    responses=responses(res.Assistant, body=True),
    openapi_extra=request_body(pb.UpdateAssistantRequest, path=["assistant_id"]),
)
async def modify_assistant(
    request: Request,
    assistant_id: str,
    body: dict[str, Any] = Body(..., openapi_examples={"modify": {"value": MODIFY_EXAMPLE}}),
) -> JSONResponse:
    message = with_update_mask(build(pb.UpdateAssistantRequest, body, assistant_id=assistant_id), body)
    return respond(await ops(request).assistants.update(message))


@router.delete("/{assistant_id}", summary="Delete assistant", responses=responses(pb.DeleteAssistantResponse))
async def delete_assistant(request: Request, assistant_id: str) -> JSONResponse:
    return respond(await ops(request).assistants.delete(pb.DeleteAssistantRequest(assistant_id=assistant_id)))
