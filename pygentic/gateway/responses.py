"""``/v1/responses`` routes: JSON, or with ``stream: true`` server-sent events named by their ``type``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, Response

from pygentic.gateway.common import AFTER, BEFORE, LIMIT, ORDER, build, ops, page, respond
from pygentic.gateway.openapi import request_body, responses
from pygentic.gateway.sse import sse_response
from pygentic.gateway.wire import sse_event, to_openai
from pygentic.proto.v1 import responses_pb2 as pb

router = APIRouter(prefix="/v1/responses", tags=["responses"])
INCLUDE = Query(default=None, alias="include[]", description="Extra fields to include (none yet).")
CREATE_EXAMPLE = {"model": "local", "input": "Tell me a three sentence bedtime story about a unicorn."}


def _event(event: pb.ResponseEvent) -> bytes:
    return sse_event(event.type, to_openai(event))


def _error(error: dict[str, Any]) -> bytes:
    """A failure once streaming: an ``error`` event, as OpenAI sends it."""
    payload = {"type": "error", "code": error.get("code"), "message": error.get("message"), "param": None}
    return sse_event("error", payload)


@router.post(
    "",
    summary="Create response",
    responses=responses(pb.Response, body=True, stream=True),
    openapi_extra=request_body(pb.CreateResponseRequest, required=["model", "input"]),
)
async def create_response(
    request: Request, body: dict[str, Any] = Body(..., openapi_examples={"create": {"value": CREATE_EXAMPLE}})
) -> Response:
    message = build(pb.CreateResponseRequest, body)
    operations = ops(request).responses
    if message.stream:
        keepalive: float = request.app.state.keepalive
        return await sse_response(
            await operations.stream(message), keepalive, encoder=_event, on_error=_error
        )
    return respond(await operations.create(message))


@router.get("/{response_id}", summary="Retrieve response", responses=responses(pb.Response))
async def get_response(
    request: Request, response_id: str, include: list[str] | None = INCLUDE
) -> JSONResponse:
    message = build(pb.GetResponseRequest, None, response_id=response_id, include=include)
    return respond(await ops(request).responses.get(message))


@router.delete("/{response_id}", summary="Delete response", responses=responses(pb.DeleteResponseResponse))
async def delete_response(request: Request, response_id: str) -> JSONResponse:
    return respond(await ops(request).responses.delete(pb.DeleteResponseRequest(response_id=response_id)))


@router.post("/{response_id}/cancel", summary="Cancel response", responses=responses(pb.Response))
async def cancel_response(request: Request, response_id: str) -> JSONResponse:
    return respond(await ops(request).responses.cancel(pb.CancelResponseRequest(response_id=response_id)))


@router.get(
    "/{response_id}/input_items", summary="List input items", responses=responses(pb.ListInputItemsResponse)
)
async def list_input_items(
    request: Request,
    response_id: str,
    limit: int | None = LIMIT,
    order: str | None = ORDER,
    after: str | None = AFTER,
    before: str | None = BEFORE,
) -> JSONResponse:
    message = page(pb.ListInputItemsRequest, limit, order, after, before, response_id=response_id)
    return respond(await ops(request).responses.list_input_items(message))
