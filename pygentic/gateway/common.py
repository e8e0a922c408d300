"""Helpers shared by the gateway's routers."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Query, Request
from fastapi.responses import JSONResponse
from google.protobuf.message import Message

from pygentic.errors import invalid
from pygentic.gateway.wire import parse_request, to_openai
from pygentic.operations.bundle import Operations
from pygentic.operations.json_values import check_request_values, shorten

MsgT = TypeVar("MsgT", bound=Message)

LIMIT = Query(default=None, description="1 to 100, default 20.")
ORDER = Query(
    default=None,
    description="'asc' or 'desc' by created_at, default 'desc'.",
    json_schema_extra={"enum": ["asc", "desc"]},
)
AFTER = Query(default=None, description="An object id: the page starts after it.")
BEFORE = Query(default=None, description="An object id: the page ends before it.")


def ops(request: Request) -> Operations:
    operations: Operations = request.app.state.operations
    return operations


def build(cls: type[MsgT], body: dict[str, Any] | None, **fields: Any) -> MsgT:
    """A request message from a JSON body plus path/query fields (which the body may not override)."""
    body = dict(body or {})
    for key in fields:
        if key in body:
            raise invalid(key, "is given in the URL, not in the body.")
    message = parse_request(body, cls())
    for key, value in fields.items():
        if value is None:
            continue
        try:
            if isinstance(value, list):
                getattr(message, key).extend(value)
            else:
                setattr(message, key, value)
        except (ValueError, TypeError) as exc:  # e.g. a limit beyond the field's 32 bits
            raise invalid(key, f"{shorten(value)} is out of range.") from exc
    check_request_values(message)
    return message


def with_update_mask(message: MsgT, body: dict[str, Any] | None) -> MsgT:
    """Every key the body names (``null`` included, to clear a field) is updated."""
    keys = [k for k in (body or {}) if k in message.DESCRIPTOR.fields_by_name]
    message.update_mask.paths.extend(keys)  # type: ignore[attr-defined]
    return message


def page(
    cls: type[MsgT],
    limit: int | None,
    order: str | None,
    after: str | None,
    before: str | None,
    **fields: Any,
) -> MsgT:
    return build(cls, None, limit=limit, order=order, after=after, before=before, **fields)


def respond(message: Message, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(to_openai(message), headers=headers)
