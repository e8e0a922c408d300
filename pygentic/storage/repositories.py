"""One repository per resource: the queries each resource needs, on a caller's session."""

from __future__ import annotations

import time
from typing import Any, Generic, TypeVar

from sqlalchemy import bindparam, func, insert, inspect, literal_column, union_all, update
from sqlalchemy import select as core_select
from sqlmodel import SQLModel, col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from pygentic.storage.pagination import Page, PageParams, fetch_page
from pygentic.storage.rows import loaded_row
from pygentic.storage.statements import CoreTransaction, Statement, Transaction
from pygentic.storage.tables import (
    AssistantRow,
    ChunkRow,
    FileRow,
    MessageRow,
    ResponseRow,
    RunRow,
    RunStepRow,
    ThreadRow,
    VectorStoreFileBatchRow,
    VectorStoreFileRow,
    VectorStoreRow,
)
from pygentic.storage.tenancy import current_project

RowT = TypeVar("RowT", bound=SQLModel)
# A caller's session (the ORM) or hot-path transaction (pygentic.storage.statements).
Writer = AsyncSession | Transaction

# Run statuses: active ones block the thread; executing ones need a process (an owner) to move them on.
EXECUTING_RUN_STATUSES = ("queued", "in_progress", "cancelling")
ACTIVE_RUN_STATUSES = (*EXECUTING_RUN_STATUSES, "requires_action")
TERMINAL_RUN_STATUSES = ("completed", "failed", "cancelled", "expired", "incomplete")


def now() -> int:
    """The current time in unix seconds, as every ``*_at`` field holds it."""
    return int(time.time())


def narrowed_to_project(column: Any, project: Any) -> Any:
    """The project condition of a query that other equalities (a thread, a run) already narrow: written
    so that no index serves it. Without statistics SQLite rates the project index as selective as the
    thread's and may pick it, reading every row of the project (a list of one thread's messages read
    all 13,000 messages of the project in a benchmark); the thread's index reads only its rows."""
    return column.concat(literal_column("''")) == project


def active_run_of(thread_id: Any) -> Any:
    """The SELECT of the id of the active run of the thread ``thread_id`` (a parameter or a column), if
    any: what blocks new messages, new runs and the thread's deletion."""
    r = RunRow.__table__.c  # type: ignore[attr-defined]
    return core_select(r.id).where(r.thread_id == thread_id, r.status.in_(ACTIVE_RUN_STATUSES)).limit(1)


async def statements_of(db: Writer) -> Transaction:
    """Where to run :class:`~pygentic.storage.statements.Statement` objects: a hot-path transaction as
    it is, a session through its connection (as Core, in the session's transaction)."""
    if isinstance(db, AsyncSession):
        return CoreTransaction(await db.connection())
    return db


class Repository(Generic[RowT]):
    """Get, add, page and delete rows of one table.

    ``add`` goes through the ORM (the row is then tracked: later changes to it are flushed); ``insert``
    writes the row with one Core statement and leaves it untracked, and ``save`` writes such a row's
    changes the same way: they skip the unit of work, a large share of a small write's CPU. Those, and
    ``exists``, ``where`` and (returning an untracked row) ``get``, also take a hot-path transaction
    (:meth:`pygentic.storage.Database.transaction`), which runs them on SQLite's driver directly.
    """

    def __init__(self, model: type[RowT]) -> None:
        self.model = model
        self.table: Any = model.__table__  # type: ignore[attr-defined]
        # (attribute, column) pairs; ``meta`` is stored as the column ``metadata``
        self._columns = [(prop.key, prop.columns[0].key) for prop in inspect(model).column_attrs]
        c = self.table.c
        self._insert = Statement(
            insert(self.table).values({name: bindparam(name) for _, name in self._columns if name != "seq"})
        )
        self._insert_with_seq = Statement(
            insert(self.table).values({name: bindparam(name) for _, name in self._columns})
        )
        # Rows of a project (see pygentic.storage.tenancy): found only while acting for it.
        self.scoped = "project_id" in c
        self._column_of = dict(self._columns)
        self._attributes = [attr for attr, _ in self._columns]
        self._updates: dict[tuple[str, ...], Statement] = {}
        self._gets: dict[tuple[bool, bool, tuple[str, ...]], Any] = {}
        self._selects: dict[tuple[bool, bool, tuple[str, ...]], Statement] = {}
        self._exists: dict[tuple[bool, bool], Statement] = {}

    async def get(
        self,
        session: Writer,
        object_id: str,
        *,
        lock: bool = False,
        detach: bool = False,
        **equals: Any,
    ) -> RowT | None:
        """The row with this id (and these column values), or None. ``lock`` takes a row lock until the
        transaction ends (PostgreSQL; SQLite writers are serialized anyway). ``detach``: the session
        forgets the row, so changes to it are written only by :meth:`save` (no flush at commit). The
        values compare with ``=`` (ids and keys, never NULL). In a hot-path transaction the row is never
        tracked."""
        project = current_project() if self.scoped else None
        params = {"_id": object_id, **{f"_{name}": value for name, value in equals.items()}}
        if project is not None:
            params["_project"] = project
        if not isinstance(session, AsyncSession):
            statement = self._select_statement(project is not None, lock, tuple(equals))
            found = await session.first(statement, params)
            return None if found is None else self._row(found)
        stmt = self._get_statement(project is not None, lock, tuple(equals))
        row = (await session.exec(stmt, params=params)).first()
        if row is not None and detach:
            session.expunge(row)
        return row

    async def where(self, db: Writer, *, order: tuple[str, ...] = ("seq",), **equals: Any) -> list[RowT]:
        """The rows whose columns equal these values (in the project acting), untracked, ordered by
        ``order`` (insertion order by default); one Core SELECT built once per shape."""
        project = current_project() if self.scoped else None
        params = {f"_{name}": value for name, value in equals.items()}
        if project is not None:
            params["_project"] = project
        statement = self._select_statement(project is not None, False, tuple(equals), order=order)
        return [self._row(found) for found in await (await statements_of(db)).rows(statement, params)]

    def _select_statement(
        self, scoped: bool, lock: bool, names: tuple[str, ...], *, order: tuple[str, ...] = ()
    ) -> Statement:
        """A Core SELECT of every column (for :meth:`_row`): by id, and ``names``; or, with ``order``,
        by ``names`` only, in that order."""
        by_id = not order
        key = (scoped, lock, (("_id",) if by_id else ()) + names + order)
        statement = self._selects.get(key)
        if statement is None:
            c = self.table.c
            stmt = core_select(*(c[name] for _, name in self._columns))
            if by_id:
                stmt = stmt.where(c.id == bindparam("_id"))
            for name in names:
                stmt = stmt.where(c[self._column_of[name]] == bindparam(f"_{name}"))
            if scoped:
                stmt = stmt.where(narrowed_to_project(c.project_id, bindparam("_project")))
            if lock:
                stmt = stmt.with_for_update()
            if order:
                stmt = stmt.order_by(*(c[self._column_of[name]] for name in order))
            statement = self._selects[key] = Statement(stmt)
        return statement

    def _row(self, values: tuple[Any, ...]) -> RowT:
        """An untracked row object holding ``values`` (in the order of ``_columns``)."""
        return loaded_row(self.model, self._attributes, values)

    def _get_statement(self, scoped: bool, lock: bool, names: tuple[str, ...]) -> Any:
        """The SELECT of :meth:`get`, built once per shape (building one costs more than running it)."""
        key = (scoped, lock, names)
        stmt = self._gets.get(key)
        if stmt is None:
            m: Any = self.model
            stmt = select(self.model).where(m.id == bindparam("_id"))
            for name in names:
                stmt = stmt.where(getattr(m, name) == bindparam(f"_{name}"))
            if scoped:
                stmt = stmt.where(m.project_id == bindparam("_project"))
            if lock:
                stmt = stmt.with_for_update()
            self._gets[key] = stmt
        return stmt

    def _stamp(self, row: RowT) -> None:
        """A new row belongs to the project acting (else to the one it names)."""
        project = current_project() if self.scoped else None
        if project is not None:
            row.project_id = project  # type: ignore[attr-defined]

    async def add(self, session: AsyncSession, row: RowT) -> RowT:
        self._stamp(row)
        session.add(row)
        await session.flush()
        return row

    async def insert(self, db: Writer, row: RowT) -> RowT:
        """Write ``row`` with one Core INSERT (not tracked by the session afterwards)."""
        self._stamp(row)
        values = {column: getattr(row, attr) for attr, column in self._columns}
        statement = self._insert_with_seq
        if values["seq"] is None:
            del values["seq"]  # numbered by the database
            statement = self._insert
        await (await statements_of(db)).execute(statement, values)
        return row

    async def save(self, db: Writer, row: RowT, fields: tuple[str, ...]) -> RowT:
        """Write the ``fields`` (attribute names) of ``row``, stored before and found by id, with one Core
        UPDATE; the row is not tracked. For rows written with :meth:`insert` and changed since. Only the
        named columns are written, so a concurrent change to another one (a client's metadata) is kept."""
        statement = self._updates.get(fields)
        if statement is None:
            c = self.table.c
            statement = self._updates[fields] = Statement(
                update(self.table)
                .where(c.id == bindparam("_id"))
                .values({self._column_of[f]: bindparam(f"_{f}") for f in fields})
            )
        values = {f"_{f}": getattr(row, f) for f in fields}
        values["_id"] = row.id  # type: ignore[attr-defined]
        await (await statements_of(db)).execute(statement, values)
        return row

    async def exists(self, db: Writer, object_id: str, *, lock: bool = False) -> bool:
        """Whether the row with this id exists (one Core SELECT); ``lock`` as in :meth:`get`."""
        project = current_project() if self.scoped else None
        key = (project is not None, lock)
        statement = self._exists.get(key)
        if statement is None:
            c = self.table.c
            stmt = core_select(c.id).where(c.id == bindparam("id"))
            if project is not None:
                stmt = stmt.where(c.project_id == bindparam("project"))
            statement = self._exists[key] = Statement(stmt.with_for_update() if lock else stmt)
        params = {"id": object_id} if project is None else {"id": object_id, "project": project}
        return await (await statements_of(db)).first(statement, params) is not None

    async def page(self, session: AsyncSession, params: PageParams, **equals: Any) -> Page[RowT]:
        m: Any = self.model
        conds = [getattr(m, name) == value for name, value in equals.items()]
        project = current_project() if self.scoped else None
        if project is not None:
            conds.append(narrowed_to_project(m.project_id, project) if conds else m.project_id == project)
        return await fetch_page(session, self.model, params, *conds)

    async def delete(self, session: AsyncSession, row: RowT) -> None:
        await session.delete(row)
        await session.flush()


class ThreadRepository(Repository[ThreadRow]):
    """Threads; deleting one deletes its messages, runs and run steps."""

    def __init__(self) -> None:
        super().__init__(ThreadRow)
        self._with_active: dict[bool, Statement] = {}

    async def lock_with_active_run(self, db: Writer, thread_id: str) -> tuple[bool, str | None]:
        """Whether the thread exists (in the project acting), locked until the transaction ends (a row
        lock on PostgreSQL; SQLite writers are serialized anyway), and the id of its active run if it has
        one: what adding a message or a run checks first, in one SELECT where it took two."""
        project = current_project()
        statement = self._with_active.get(project is not None)
        if statement is None:
            t = self.table.c
            stmt = core_select(t.id, active_run_of(t.id).scalar_subquery()).where(t.id == bindparam("id"))
            if project is not None:
                stmt = stmt.where(t.project_id == bindparam("project"))
            statement = self._with_active[project is not None] = Statement(stmt.with_for_update(of=t))
        params = {"id": thread_id} if project is None else {"id": thread_id, "project": project}
        found = await (await statements_of(db)).first(statement, params)
        if found is None:
            return False, None
        return True, None if found[1] is None else str(found[1])

    async def delete(self, session: AsyncSession, row: ThreadRow) -> None:
        for model in (RunStepRow, RunRow, MessageRow):
            await session.exec(delete(model).where(col(model.thread_id) == row.id))
        await super().delete(session, row)


class RunRepository(Repository[RunRow]):
    """Runs, and the lookup of a thread's active run."""

    def __init__(self) -> None:
        super().__init__(RunRow)
        c = self.table.c
        self._active_id = Statement(active_run_of(bindparam("thread_id")))
        self._active_for_key = Statement(
            core_select(func.count()).where(
                c.key_id == bindparam("key_id"), c.status.in_(ACTIVE_RUN_STATUSES)
            )
        )
        m, s = MessageRow.__table__.c, RunStepRow.__table__.c  # type: ignore[attr-defined]
        self._open_parts = Statement(
            union_all(
                core_select(m.id).where(m.run_id == bindparam("run_id"), m.status == "in_progress"),
                core_select(s.id).where(s.run_id == bindparam("run_id"), s.status == "in_progress"),
            ).limit(1)
        )

    async def has_open_parts(self, db: Writer, run_id: str) -> bool:
        """Whether the run has a message or a step still in progress, as stored (one Core SELECT; rows
        changed through the ORM and not flushed yet count as stored before the change)."""
        return await (await statements_of(db)).first(self._open_parts, {"run_id": run_id}) is not None

    async def active_count_for_key(self, db: Writer, key_id: str) -> int:
        """How many runs the API key ``key_id`` made are active (one Core SELECT)."""
        found = await (await statements_of(db)).first(self._active_for_key, {"key_id": key_id})
        return int(found[0]) if found is not None else 0

    async def active_id_for_thread(self, db: Writer, thread_id: str) -> str | None:
        """The id of the thread's active run, if any (one Core SELECT, no ORM object)."""
        found = await (await statements_of(db)).first(self._active_id, {"thread_id": thread_id})
        return None if found is None else str(found[0])


assistants = Repository(AssistantRow)
threads = ThreadRepository()
messages = Repository(MessageRow)
runs = RunRepository()
run_steps = Repository(RunStepRow)
responses = Repository(ResponseRow)
files = Repository(FileRow)


class VectorStoreRepository(Repository[VectorStoreRow]):
    """Vector stores; deleting one deletes its file entries and chunks (not the files)."""

    def __init__(self) -> None:
        super().__init__(VectorStoreRow)

    async def delete(self, session: AsyncSession, row: VectorStoreRow) -> None:
        for model in (ChunkRow, VectorStoreFileRow, VectorStoreFileBatchRow):
            await session.exec(delete(model).where(col(model.vector_store_id) == row.id))
        await super().delete(session, row)

    async def chunks_changed(self, session: AsyncSession, vector_store_id: str) -> None:
        """Record, in the transaction that adds or removes a store's chunks, that they changed."""
        await session.exec(
            update(VectorStoreRow)
            .where(col(VectorStoreRow.id) == vector_store_id)
            .values(chunks_version=func.coalesce(VectorStoreRow.chunks_version, 0) + 1)
        )


class VectorStoreFileRepository(Repository[VectorStoreFileRow]):
    """A vector store's files; removing one removes its chunks."""

    def __init__(self) -> None:
        super().__init__(VectorStoreFileRow)

    async def delete(self, session: AsyncSession, row: VectorStoreFileRow) -> None:
        await session.exec(
            delete(ChunkRow).where(
                col(ChunkRow.vector_store_id) == row.vector_store_id, col(ChunkRow.file_id) == row.id
            )
        )
        await vector_stores.chunks_changed(session, row.vector_store_id)
        await super().delete(session, row)


vector_stores = VectorStoreRepository()
vector_store_files = VectorStoreFileRepository()
file_batches = Repository(VectorStoreFileBatchRow)
