"""Errors as OpenAI sends them: an HTTP status and ``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

import math
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pygentic.errors import ApiError, ErrorKind, quoted
from pygentic.gateway.json_shape import json_type

HTTP_STATUS: dict[ErrorKind, int] = {
    ErrorKind.INVALID_ARGUMENT: 400,
    ErrorKind.FAILED_PRECONDITION: 400,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.PERMISSION_DENIED: 403,
    ErrorKind.ALREADY_EXISTS: 409,
    ErrorKind.RESOURCE_EXHAUSTED: 429,
    ErrorKind.UNAVAILABLE: 503,
    ErrorKind.INTERNAL: 500,
}


def error_body(
    message: str, status: int, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """The OpenAI error envelope."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    if status == 429:
        kind = "rate_limit_exceeded"
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


# The envelope's ``code`` where OpenAI has a word of its own for the kind; other kinds give their name.
OPENAI_CODES: dict[ErrorKind, str] = {
    ErrorKind.UNAUTHENTICATED: "invalid_api_key",
    ErrorKind.RESOURCE_EXHAUSTED: "rate_limit_exceeded",
}


def api_error_body(exc: ApiError) -> tuple[int, dict[str, Any]]:
    status = HTTP_STATUS[exc.kind]
    return status, error_body(exc.message, status, exc.param, OPENAI_CODES.get(exc.kind, exc.kind.value))


def retry_headers(exc: ApiError) -> dict[str, str]:
    """``Retry-After`` (whole seconds, at least 1) for an error that says when to retry."""
    if exc.retry_after is None:
        return {}
    return {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}


async def handle_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    status, body = api_error_body(exc)
    return JSONResponse(body, status_code=status, headers=retry_headers(exc))


# Pydantic's error types for query and path parameters, and the JSON type each expected.
_EXPECTED = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "float_parsing": "a number",
    "bool_parsing": "a boolean",
    "string_type": "a string",
    "dict_type": "an object",
    "model_type": "an object",
    "list_type": "an array",
}


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 becomes OpenAI's 400, naming the first offending parameter in OpenAI's words."""
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
    param = ".".join(loc) or None
    kind = str(first.get("type", ""))
    if kind == "json_invalid":
        message = "We could not parse the JSON body of your request: it is not valid JSON."
        param = None
    elif kind == "missing" and param:
        message = f"Missing required parameter: '{param}'."
    elif kind in _EXPECTED:
        given = first.get("input")
        where = param or "body"
        got = json_type(given) if where == "body" else quoted(given)
        message = f"Invalid type for '{where}': expected {_EXPECTED[kind]}, but got {got} instead."
    elif param:
        message = f"Invalid '{param}': {first.get('msg', 'invalid value')}."
    else:
        message = f"Invalid request: {first.get('msg', 'invalid value')}."
    return JSONResponse(error_body(message, 400, param), status_code=400)


async def handle_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404:
        message = f"Unknown request URL: {request.method} {request.url.path}."
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed for {request.url.path}."
    return JSONResponse(error_body(message, exc.status_code), status_code=exc.status_code)
