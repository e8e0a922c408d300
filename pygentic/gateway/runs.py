"""Runs and run steps routes, with ``stream: true`` answered as server-sent events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, Response

from pygentic.gateway.common import AFTER, BEFORE, LIMIT, ORDER, build, ops, page, respond, with_update_mask
from pygentic.gateway.json_shape import wrong_type
from pygentic.gateway.openapi import request_body, responses
from pygentic.gateway.sse import sse_response
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.proto.v1 import runs_pb2 as pb

router = APIRouter(tags=["runs"])

POLL_AFTER_MS = "200"
INCLUDE = Query(default=None, alias="include[]", description="Extra step fields to include.")

CREATE_EXAMPLE = {"assistant_id": "asst_abc123", "instructions": "Answer in one sentence.", "stream": False}
THREAD_AND_RUN_EXAMPLE = {
    "assistant_id": "asst_abc123",
    "thread": {"messages": [{"role": "user", "content": "Explain deep learning to a 5 year old."}]},
    "stream": False,
}
SUBMIT_EXAMPLE = {
    "tool_outputs": [{"tool_call_id": "call_abc123", "output": "22C and sunny"}],
    "stream": False,
}
MODIFY_EXAMPLE = {"metadata": {"user_id": "user_abc123"}}


def _stream_flag(body: dict[str, Any] | None) -> tuple[dict[str, Any], bool]:
    body = dict(body or {})
    stream = body.pop("stream", None)
    if stream is not None and not isinstance(stream, bool):
        raise wrong_type("stream", "a boolean", stream)
    return body, bool(stream)


def _run_response(message: Any) -> JSONResponse:
    return respond(message, headers={"openai-poll-after-ms": POLL_AFTER_MS})


def _keepalive(request: Request) -> float:
    seconds: float = request.app.state.keepalive
    return seconds


@router.post(
    "/v1/threads/runs",
    summary="Create thread and run",
    responses=responses(res.Run, body=True, stream=True),
    openapi_extra=request_body(pb.CreateThreadAndRunRequest, required=["assistant_id"], stream=True),
)
async def create_thread_and_run(
    request: Request,
    body: dict[str, Any] = Body(..., openapi_examples={"run": {"value": THREAD_AND_RUN_EXAMPLE}}),
) -> Response:
    fields, stream = _stream_flag(body)
    message = build(pb.CreateThreadAndRunRequest, fields)
    if stream:
        return await sse_response(ops(request).runs.stream_thread_and_run(message), _keepalive(request))
    return _run_response(await ops(request).runs.create_thread_and_run(message))


@router.post(
    "/v1/threads/{thread_id}/runs",
    summary="Create run",
    responses=responses(res.Run, body=True, stream=True),
    openapi_extra=request_body(
        pb.CreateRunRequest, required=["assistant_id"], path=["thread_id"], stream=True
    ),
)
async def create_run(
    request: Request,
    thread_id: str,
    include: list[str] | None = INCLUDE,
    body: dict[str, Any] = Body(..., openapi_examples={"run": {"value": CREATE_EXAMPLE}}),
) -> Response:
    fields, stream = _stream_flag(body)
    message = build(pb.CreateRunRequest, fields, thread_id=thread_id, include=include)
    if stream:
        return await sse_response(ops(request).runs.stream(message), _keepalive(request))
    return _run_response(await ops(request).runs.create(message))


@router.get("/v1/threads/{thread_id}/runs", summary="List runs", responses=responses(pb.ListRunsResponse))
async def list_runs(
    request: Request,
    thread_id: str,
    limit: int | None = LIMIT,
    order: str | None = ORDER,
    after: str | None = AFTER,
    before: str | None = BEFORE,
) -> JSONResponse:
    message = page(pb.ListRunsRequest, limit, order, after, before, thread_id=thread_id)
    return respond(await ops(request).runs.list(message))


@router.get("/v1/threads/{thread_id}/runs/{run_id}", summary="Retrieve run", responses=responses(res.Run))
async def get_run(request: Request, thread_id: str, run_id: str) -> JSONResponse:
    return _run_response(await ops(request).runs.get(pb.GetRunRequest(thread_id=thread_id, run_id=run_id)))


@router.post(
    "/v1/threads/{thread_id}/runs/{run_id}",
    summary="Modify run",
    responses=responses(res.Run, body=True),
    openapi_extra=request_body(pb.UpdateRunRequest, path=["thread_id", "run_id"]),
)
async def modify_run(
    request: Request,
    thread_id: str,
    run_id: str,
    body: dict[str, Any] = Body(..., openapi_examples={"modify": {"value": MODIFY_EXAMPLE}}),
) -> JSONResponse:
    message = with_update_mask(build(pb.UpdateRunRequest, body, thread_id=thread_id, run_id=run_id), body)
    return _run_response(await ops(request).runs.update(message))


@router.post(
    "/v1/threads/{thread_id}/runs/{run_id}/cancel", summary="Cancel run", responses=responses(res.Run)
)
async def cancel_run(request: Request, thread_id: str, run_id: str) -> JSONResponse:
    return _run_response(
        await ops(request).runs.cancel(pb.CancelRunRequest(thread_id=thread_id, run_id=run_id))
    )


@router.post(
    "/v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs",
    summary="Submit tool outputs",
    responses=responses(res.Run, body=True, stream=True),
    openapi_extra=request_body(
        pb.SubmitToolOutputsRequest, required=["tool_outputs"], path=["thread_id", "run_id"], stream=True
    ),
)
async def submit_tool_outputs(
    request: Request,
    thread_id: str,
    run_id: str,
    body: dict[str, Any] = Body(..., openapi_examples={"outputs": {"value": SUBMIT_EXAMPLE}}),
) -> Response:
    fields, stream = _stream_flag(body)
    message = build(pb.SubmitToolOutputsRequest, fields, thread_id=thread_id, run_id=run_id)
    if stream:
        return await sse_response(ops(request).runs.stream_submit_tool_outputs(message), _keepalive(request))
    return _run_response(await ops(request).runs.submit_tool_outputs(message))


@router.get(
    "/v1/threads/{thread_id}/runs/{run_id}/steps",
    summary="List run steps",
    responses=responses(pb.ListRunStepsResponse),
)
async def list_run_steps(
    request: Request,
    thread_id: str,
    run_id: str,
    limit: int | None = LIMIT,
    order: str | None = ORDER,
    after: str | None = AFTER,
    before: str | None = BEFORE,
    include: list[str] | None = INCLUDE,
) -> JSONResponse:
    message = page(
        pb.ListRunStepsRequest,
        limit,
        order,
        after,
        before,
        thread_id=thread_id,
        run_id=run_id,
        include=include,
    )
    return respond(await ops(request).runs.list_steps(message))


@router.get(
    "/v1/threads/{thread_id}/runs/{run_id}/steps/{step_id}",
    summary="Retrieve run step",
    responses=responses(res.RunStep),
)
async def get_run_step(
    request: Request, thread_id: str, run_id: str, step_id: str, include: list[str] | None = INCLUDE
) -> JSONResponse:
    message = build(
        pb.GetRunStepRequest, None, thread_id=thread_id, run_id=run_id, step_id=step_id, include=include
    )
    return respond(await ops(request).runs.get_step(message))
