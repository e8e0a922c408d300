"""``/v1/chat/completions`` (JSON, or ``data:``-only server-sent events with ``stream: true``) and
``/v1/models``, over the same connectors, routing and limits as runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse, Response
from google.protobuf.message import Message

from pygentic.gateway.common import build, ops, respond
from pygentic.gateway.openapi import request_body, responses
from pygentic.gateway.sse import chunk_error, sse_response
from pygentic.gateway.wire import sse_data, to_openai
from pygentic.proto.v1 import chat_pb2 as pb
from pygentic.proto.v1 import models_pb2

router = APIRouter(tags=["chat"])

CREATE_EXAMPLE = {
    "model": "local",
    "messages": [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "What is the capital of France?"},
    ],
}
DONE = sse_data("[DONE]")


def _chunk_event(chunk: Message) -> bytes:
    return sse_data(to_openai(chunk))


def _chat_responses() -> dict[int | str, Any]:
    answers = responses(pb.ChatCompletion, body=True)
    answers[200]["content"]["text/event-stream"] = {
        "schema": {
            "type": "object",
            "required": ["data"],
            "properties": {"data": {"type": "string"}},
        },
        "description": "With `stream: true`: chat.completion.chunk objects as `data:` lines, then "
        "`data: [DONE]`.",
    }
    return answers


@router.post(
    "/v1/chat/completions",
    summary="Create chat completion",
    responses=_chat_responses(),
    openapi_extra=request_body(pb.CreateChatCompletionRequest, required=["model", "messages"]),
)
async def create_chat_completion(
    request: Request,
    body: dict[str, Any] = Body(..., openapi_examples={"chat": {"value": CREATE_EXAMPLE}}),
) -> Response:
    message = build(pb.CreateChatCompletionRequest, body)
    chat = ops(request).chat
    if message.stream:
        keepalive: float = request.app.state.keepalive
        chunks = await chat.stream(message)
        return await sse_response(chunks, keepalive, encoder=_chunk_event, on_error=chunk_error, last=DONE)
    return respond(await chat.create(message))


@router.get("/v1/models", summary="List models", responses=responses(models_pb2.ListModelsResponse))
async def list_models(request: Request) -> JSONResponse:
    return respond(await ops(request).models.list())


@router.get("/v1/models/{model:path}", summary="Retrieve model", responses=responses(models_pb2.Model))
async def get_model(request: Request, model: str) -> JSONResponse:
    return respond(await ops(request).models.get(model))
