"""The hot path's transactions (Database.transaction, pygentic.storage.statements): the same rows, values
and errors as the ORM session, on SQLite's driver directly and as Core on PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, text

from pygentic.config import DatabaseSettings
from pygentic.storage import Database, PageParams
from pygentic.storage import repositories as repos
from pygentic.storage.tables import MessageRow, RunRow, ThreadRow
from pygentic.storage.tenancy import acting_for


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(DatabaseSettings(url=database_url))
    await database.create_schema()
    try:
        yield database
    finally:
        await database.close()


def _run(run_id: str, thread_id: str, status: str = "queued") -> RunRow:
    return RunRow(
        id=run_id,
        created_at=1_700_000_000,
        thread_id=thread_id,
        assistant_id="asst_1",
        status=status,
        model="echo",
        tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        meta={"k": "v"},
        parallel_tool_calls=False,
        temperature=0.25,
        response_format={"type": "json_object"},
    )


def _message(message_id: str, thread_id: str, **values: object) -> MessageRow:
    return MessageRow(
        id=message_id,
        created_at=1_700_000_000,
        thread_id=thread_id,
        role="user",
        content=[{"type": "text", "text": {"value": "héllo \u2603", "annotations": []}}],
        **values,  # type: ignore[arg-type]
    )


async def test_rows_written_on_the_hot_path_read_back_as_the_orm_writes_them(db: Database) -> None:
    async with db.write() as session:
        await repos.threads.insert(session, ThreadRow(id="thread_1", created_at=1))
        await repos.runs.insert(session, _run("run_orm", "thread_1", "completed"))
        await repos.messages.insert(session, _message("msg_orm", "thread_1"))
    async with db.transaction() as tx:
        await repos.runs.insert(tx, _run("run_hot", "thread_1", "completed"))
        await repos.messages.insert(tx, _message("msg_hot", "thread_1"))
    async with db.read() as session:
        orm_run, hot_run = [await repos.runs.get(session, i) for i in ("run_orm", "run_hot")]
        orm_msg, hot_msg = [await repos.messages.get(session, i) for i in ("msg_orm", "msg_hot")]
        stored = (
            await session.exec(  # type: ignore[call-overload]
                text("SELECT id, content, incomplete_details, metadata FROM messages ORDER BY seq")
            )
        ).all()
    assert orm_run is not None and hot_run is not None and orm_msg is not None and hot_msg is not None
    skip = {"seq", "id"}
    assert hot_run.model_dump(exclude=skip) == orm_run.model_dump(exclude=skip)
    assert hot_run.parallel_tool_calls is False and hot_run.temperature == 0.25
    assert hot_msg.model_dump(exclude=skip) == orm_msg.model_dump(exclude=skip)
    # The same stored text, to the byte: a None JSON column included.
    assert stored[0][1:] == stored[1][1:], stored

    async with db.transaction() as tx:
        got = await repos.runs.get(tx, "run_orm")
        assert got is not None and got.model_dump() == orm_run.model_dump()
        assert await repos.runs.get(tx, "run_nope") is None
        assert await repos.messages.get(tx, "msg_hot", thread_id="thread_1") is not None
        assert await repos.messages.get(tx, "msg_hot", thread_id="thread_2") is None
        assert await repos.threads.exists(tx, "thread_1", lock=True)
        assert not await repos.threads.exists(tx, "thread_2")
        assert [m.id for m in await repos.messages.where(tx, thread_id="thread_1")] == ["msg_orm", "msg_hot"]


async def test_saves_write_only_the_named_fields(db: Database) -> None:
    async with db.transaction() as tx:
        await repos.threads.insert(tx, ThreadRow(id="thread_1", created_at=1))
        row = _message("msg_1", "thread_1", status="in_progress", meta={"a": "1"})
        await repos.messages.insert(tx, row)
    async with db.write() as session:  # another writer changes the metadata
        stored = await repos.messages.get(session, "msg_1")
        assert stored is not None
        stored.meta = {"b": "2"}
        session.add(stored)
    row.status, row.completed_at, row.meta = "completed", 5, {"stale": "x"}
    async with db.transaction() as tx:
        await repos.messages.save(tx, row, ("status", "completed_at"))
    async with db.read() as session:
        again = await repos.messages.get(session, "msg_1")
    assert again is not None
    assert (again.status, again.completed_at, again.meta) == ("completed", 5, {"b": "2"})


async def test_the_active_run_lookup_sees_every_active_status(db: Database) -> None:
    async with db.transaction() as tx:
        for i, status in enumerate(("completed", "failed", "requires_action")):
            await repos.runs.insert(tx, _run(f"run_{i}", f"thread_{i}", status))
        assert await repos.runs.active_id_for_thread(tx, "thread_0") is None
        assert await repos.runs.active_id_for_thread(tx, "thread_1") is None
        assert await repos.runs.active_id_for_thread(tx, "thread_2") == "run_2"
        assert not await repos.runs.has_open_parts(tx, "run_2")
        await repos.messages.insert(tx, _message("msg_1", "thread_2", status="in_progress", run_id="run_2"))
        assert await repos.runs.has_open_parts(tx, "run_2")


async def test_a_failed_block_writes_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await repos.threads.insert(tx, ThreadRow(id="thread_1", created_at=1))
            raise RuntimeError("the operation failed after a write")
    # The driver's own error: sqlite3's on a SQLite file, asyncpg's on PostgreSQL.
    expected = sqlite3.IntegrityError if db.sqlite_path else asyncpg.IntegrityConstraintViolationError
    with pytest.raises(expected) as caught:
        async with db.transaction() as tx:
            await repos.threads.insert(tx, ThreadRow(id="thread_2", created_at=1))
            await repos.threads.insert(tx, ThreadRow(id="thread_2", created_at=1))  # a unique id twice
    assert "UNIQUE" in str(caught.value).upper()
    async with db.read() as session:
        assert await repos.threads.get(session, "thread_1") is None
        assert await repos.threads.get(session, "thread_2") is None
    async with db.transaction() as tx:  # the connection is usable again
        await repos.threads.insert(tx, ThreadRow(id="thread_3", created_at=1))
    async with db.read() as session:
        assert await repos.threads.get(session, "thread_3") is not None


async def test_hot_path_writers_and_orm_writers_take_turns(db: Database) -> None:
    async with db.write() as session:
        await repos.threads.insert(session, ThreadRow(id="thread_1", created_at=1))

    async def hot(i: int) -> None:
        async with db.transaction() as tx:
            await repos.messages.insert(tx, _message(f"msg_hot_{i}", "thread_1"))
            await asyncio.sleep(0)  # another writer may try to start here

    async def orm(i: int) -> None:
        async with db.write() as session:
            await repos.messages.add(session, _message(f"msg_orm_{i}", "thread_1"))
            await asyncio.sleep(0)

    await asyncio.gather(*(f(i) for i in range(40) for f in (hot, orm)))
    async with db.read() as session:
        count = (
            await session.exec(text("SELECT count(*) FROM messages"))  # type: ignore[call-overload]
        ).one()[0]
    assert count == 80


async def test_a_threads_rows_are_read_through_the_threads_index(tmp_path: Path) -> None:
    # Without statistics SQLite rates the project index as selective as the thread's; a read of one
    # thread's messages must not walk every message of the project.
    db = Database(DatabaseSettings(url=f"sqlite:///{tmp_path / 'plan.db'}"))
    await db.create_schema()
    try:
        statements: list[tuple[str, Any]] = []

        def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            statements.append((statement, parameters))

        event.listen(db.read_engine.sync_engine, "before_cursor_execute", capture)
        with acting_for("proj_1"):
            async with db.read() as session:
                await repos.messages.page(session, PageParams(limit=20), thread_id="thread_1")
            hot = repos.messages._select_statement(True, False, ("thread_id",), order=("created_at", "seq"))
            statements.append((hot.sqlite.sql, ("thread_1", "proj_1")))
        plans = []
        with sqlite3.connect(tmp_path / "plan.db") as conn:
            for statement, parameters in statements:
                plan = " ".join(
                    str(r[-1]) for r in conn.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
                )
                plans.append(plan)
        assert len(plans) == 2
        for plan in plans:
            assert "ix_messages_thread_id" in plan and "project_id" not in plan, plan
    finally:
        await db.close()


async def test_a_failed_transaction_among_concurrent_ones_loses_only_its_own_writes(db: Database) -> None:
    async with db.transaction() as tx:
        await repos.threads.insert(tx, ThreadRow(id="thread_1", created_at=1))
        await repos.messages.insert(tx, _message("msg_taken", "thread_1"))

    async def good(i: int) -> None:
        async with db.transaction() as tx:
            await repos.messages.insert(tx, _message(f"msg_good_{i}", "thread_1"))

    async def failing() -> None:
        async with db.transaction() as tx:
            await repos.messages.insert(tx, _message("msg_failed", "thread_1"))
            raise RuntimeError("the operation failed after a write")

    async def duplicate() -> None:
        async with db.transaction() as tx:
            await repos.messages.insert(tx, _message("msg_dup_first", "thread_1"))
            await repos.messages.insert(tx, _message("msg_taken", "thread_1"))  # a unique id twice

    results = await asyncio.gather(
        *(good(i) for i in range(10)),
        failing(),
        duplicate(),
        *(good(i) for i in range(10, 20)),
        return_exceptions=True,
    )
    assert all(r is None for r in results[:10] + results[12:]), results
    assert isinstance(results[10], RuntimeError)
    assert isinstance(results[11], Exception) and "UNIQUE" in str(results[11]).upper()
    async with db.read() as session:
        for i in range(20):
            assert await repos.messages.get(session, f"msg_good_{i}") is not None
        assert await repos.messages.get(session, "msg_failed") is None
        assert await repos.messages.get(session, "msg_dup_first") is None
