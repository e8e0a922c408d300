"""Cursor pagination (AIP-158 in OpenAI's form): limit, order, after, before, exact has_more."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import tuple_
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

RowT = TypeVar("RowT")


class CursorNotFound(Exception):
    """An ``after`` / ``before`` cursor names no object of the listed collection."""

    def __init__(self, param: str, cursor: str) -> None:
        super().__init__(f"{param}={cursor!r} names no object in this list")
        self.param = param
        self.cursor = cursor


@dataclass(frozen=True)
class PageParams:
    """What page to return."""

    limit: int = 20
    order: str = "desc"
    after: str | None = None
    before: str | None = None


@dataclass(frozen=True)
class Page(Generic[RowT]):
    """One page of rows in the requested order, and whether more lie beyond it."""

    items: list[RowT]
    has_more: bool


async def _cursor_key(
    session: AsyncSession, model: Any, conds: tuple[Any, ...], param: str, cursor: str
) -> Any:
    stmt = select(model.created_at, model.seq).where(model.id == cursor, *conds)
    row = (await session.exec(stmt)).first()
    if row is None:
        raise CursorNotFound(param, cursor)
    return tuple_(row[0], row[1])


async def fetch_page(session: AsyncSession, model: type[RowT], params: PageParams, *conds: Any) -> Page[RowT]:
    """Return the page of ``model`` rows matching ``conds`` that ``params`` selects.

    Rows are ordered by ``(created_at, seq)``. ``after`` starts right after the cursor in the list's order;
    ``before`` ends right before it, returning the ``limit`` rows closest to it; with both, the rows between.
    """
    m: Any = model
    key = tuple_(m.created_at, m.seq)
    desc = params.order == "desc"
    stmt = select(model).where(*conds)
    if params.after:
        cursor = await _cursor_key(session, m, conds, "after", params.after)
        stmt = stmt.where(key < cursor if desc else key > cursor)
    if params.before:
        cursor = await _cursor_key(session, m, conds, "before", params.before)
        stmt = stmt.where(key > cursor if desc else key < cursor)
    # Walking back from `before` (with no `after`) reads in reverse and flips the result.
    backwards = bool(params.before) and not params.after
    read_desc = desc != backwards
    ordering = (m.created_at.desc(), m.seq.desc()) if read_desc else (m.created_at.asc(), m.seq.asc())
    rows = list((await session.exec(stmt.order_by(*ordering).limit(params.limit + 1))).all())
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    if backwards:
        rows.reverse()
    return Page(items=rows, has_more=has_more)
