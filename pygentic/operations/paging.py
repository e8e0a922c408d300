"""List operations: page parameters in, ``List*Response`` out."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, TypeVar

from google.protobuf.message import Message

from pygentic.errors import invalid
from pygentic.storage import CursorNotFound, Page

ResponseT = TypeVar("ResponseT", bound=Message)
log = logging.getLogger("pygentic.storage")


async def list_response(
    cls: type[ResponseT],
    kind: str,
    fetch: Callable[[], Awaitable[Page[Any]]],
    convert: Callable[[Any], Message],
) -> ResponseT:
    """Run ``fetch`` and wrap its page as ``cls`` (object "list", data, first_id, last_id, has_more).

    A cursor naming no ``kind`` in the list is INVALID_ARGUMENT on ``after`` / ``before``. A stored row that
    cannot be read (one an older version let in) is left out and logged; it never breaks the list.
    """
    try:
        page = await fetch()
    except CursorNotFound as exc:
        raise invalid(exc.param, f"no {kind} with id '{exc.cursor}' in this list.") from exc
    response = cls(object="list", data=list(readable(page.items, convert, kind)), has_more=page.has_more)
    if page.items:
        response.first_id, response.last_id = page.items[0].id, page.items[-1].id  # type: ignore[attr-defined]
    return response


def readable(rows: Iterable[Any], convert: Callable[[Any], Message], kind: str) -> Iterator[Message]:
    """``convert(row)`` for each row that converts; the others are logged with their ids and skipped
    (``pygentic db check`` lists them)."""
    for row in rows:
        try:
            yield convert(row)
        except Exception as exc:
            log.error(
                "unreadable stored object skipped",
                extra={"kind": kind, "id": getattr(row, "id", "?"), "reason": type(exc).__name__},
            )
