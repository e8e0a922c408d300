"""List operations: page parameters in, ``List*Response`` out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from google.protobuf.message import Message

from pygentic.errors import invalid
from pygentic.storage import CursorNotFound, Page

ResponseT = TypeVar("ResponseT", bound=Message)


async def list_response(
    cls: type[ResponseT],
    kind: str,
    fetch: Callable[[], Awaitable[Page[Any]]],
    convert: Callable[[Any], Message],
) -> ResponseT:
    """Run ``fetch`` and wrap its page as ``cls`` (object "list", data, first_id, last_id, has_more).

    A cursor naming no ``kind`` in the list is INVALID_ARGUMENT on ``after`` / ``before``.
    """
    try:
        page = await fetch()
    except CursorNotFound as exc:
        raise invalid(exc.param, f"no {kind} with id '{exc.cursor}' in this list.") from exc
    response = cls(object="list", data=[convert(row) for row in page.items], has_more=page.has_more)
    if page.items:
        response.first_id, response.last_id = page.items[0].id, page.items[-1].id  # type: ignore[attr-defined]
    return response
