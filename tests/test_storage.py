"""Storage on SQLite and PostgreSQL: schema creation, SQLite tuning, stable pagination."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from pygentic.config import DatabaseSettings
from pygentic.storage import CursorNotFound, Database, PageParams, migrations
from pygentic.storage import database as database_module
from pygentic.storage import repositories as repos
from pygentic.storage.database import async_url
from pygentic.storage.inline_sqlite import InlineConnection
from pygentic.storage.tables import AssistantRow


@pytest.fixture
async def db(database_url: str):  # type: ignore[no-untyped-def]
    database = Database(DatabaseSettings(url=database_url))
    await database.create_schema()
    await database.create_schema()  # idempotent
    try:
        yield database
    finally:
        await database.close()


def test_async_urls() -> None:
    assert async_url("sqlite:///./pygentic.db") == "sqlite+aiosqlite:///./pygentic.db"
    assert async_url("postgres://u@h/d") == "postgresql+asyncpg://u@h/d"
    assert async_url("postgresql+psycopg://u@h/d") == "postgresql+asyncpg://u@h/d"
    with pytest.raises(ValueError, match="unsupported"):
        async_url("mysql://u@h/d")


async def test_sqlite_uses_wal_and_a_busy_timeout(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite-only settings")
    async with db.read() as session:
        assert (await session.exec(text("PRAGMA journal_mode"))).one()[0] == "wal"  # type: ignore[call-overload]
        assert (await session.exec(text("PRAGMA busy_timeout"))).one()[0] == 30000  # type: ignore[call-overload]


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_pages_are_stable_under_equal_created_at(db: Database, order: str) -> None:
    ids = [f"asst_same{i:02d}" for i in range(10)]
    async with db.write() as session:
        for object_id in ids:
            await repos.assistants.add(
                session, AssistantRow(id=object_id, created_at=1_700_000_000, model="m")
            )
    expected = ids if order == "asc" else ids[::-1]
    seen: list[str] = []
    after = None
    async with db.read() as session:
        while True:
            page = await repos.assistants.page(session, PageParams(limit=4, order=order, after=after))
            seen += [r.id for r in page.items]
            if not page.has_more:
                break
            after = page.items[-1].id
        assert seen == expected
        back = await repos.assistants.page(session, PageParams(limit=4, order=order, before=expected[5]))
        assert [r.id for r in back.items] == expected[1:5] and back.has_more
        with pytest.raises(CursorNotFound):
            await repos.assistants.page(session, PageParams(after="asst_unknown"))


async def test_a_failed_transaction_writes_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.write() as session:
            await repos.assistants.add(session, AssistantRow(id="asst_rollback", created_at=1, model="m"))
            raise RuntimeError("boom")
    async with db.read() as session:
        assert await repos.assistants.get(session, "asst_rollback") is None


async def test_a_database_from_before_migrations_gets_the_new_nullable_columns(database_url: str) -> None:
    database = Database(DatabaseSettings(url=database_url))
    async with database.engine.begin() as conn:  # the tables a version older than the baseline made
        await conn.run_sync(migrations.baseline_metadata().create_all)
        await conn.execute(text("ALTER TABLE runs DROP COLUMN lease_expires_at"))
        await conn.execute(text("ALTER TABLE runs DROP COLUMN owner"))
    await database.create_schema()
    async with database.read() as session:
        rows = (await session.exec(text("SELECT owner, lease_expires_at FROM runs"))).all()  # type: ignore[call-overload]
        assert rows == []
    await database.close()


async def test_sqlite_writes_run_on_the_event_loop_thread(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("the inline writer is SQLite's")
    loop_thread = threading.get_ident()
    seen: list[int] = []
    async with db.write() as session:
        raw = await (await session.connection()).get_raw_connection()
        assert isinstance(raw.driver_connection, InlineConnection)
        await raw.driver_connection.create_function(
            "where_am_i", 0, lambda: seen.append(threading.get_ident())
        )
        await session.exec(text("SELECT where_am_i()"))  # type: ignore[call-overload]
        await repos.assistants.insert(session, AssistantRow(id="asst_inline", created_at=1, model="m"))
    assert seen == [loop_thread]
    async with db.read() as session:  # a threaded reader sees the committed row
        assert (await repos.assistants.get(session, "asst_inline")) is not None


async def test_a_failed_inline_write_rolls_back_and_the_next_one_works(db: Database) -> None:
    async with db.write() as session:
        await repos.assistants.insert(session, AssistantRow(id="asst_once", created_at=1, model="m"))
    with pytest.raises(IntegrityError):
        async with db.write() as session:
            await repos.assistants.insert(session, AssistantRow(id="asst_other", created_at=1, model="m"))
            await repos.assistants.insert(session, AssistantRow(id="asst_once", created_at=2, model="m"))
    async with db.write() as session:
        await repos.assistants.insert(session, AssistantRow(id="asst_after", created_at=3, model="m"))
    async with db.read() as session:
        assert await repos.assistants.exists(session, "asst_after")
        assert not await repos.assistants.exists(session, "asst_other")  # rolled back with its transaction


async def test_the_wal_reaches_the_database_file_without_a_commit_checkpointing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "wal.db"
    database = Database(DatabaseSettings(url=f"sqlite:///{path}"))
    await database.create_schema()
    try:
        before = path.stat().st_size
        async with database.write() as session:
            for i in range(200):
                await repos.assistants.insert(
                    session,
                    AssistantRow(id=f"asst_{i:04d}", created_at=i, model="m", instructions="x" * 4000),
                )
        assert path.stat().st_size == before  # the commit left the new pages in the WAL
        for _ in range(50):
            if path.stat().st_size > before + 500_000:
                break
            await asyncio.sleep(0.1)
        assert path.stat().st_size > before + 500_000, "no checkpoint moved the WAL into the file"
    finally:
        await database.close()


async def test_the_wal_stays_bounded_under_writes_that_never_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A checkpoint beside a writer that never pauses never catches up with it; unless the WAL is then
    # restarted, it grows by every page ever written (180 MB after a thousand benchmark runs).
    monkeypatch.setattr(database_module, "CHECKPOINT_INTERVAL_S", 0.05)
    path = tmp_path / "busy.db"
    database = Database(DatabaseSettings(url=f"sqlite:///{path}"))
    await database.create_schema()
    wal = Path(f"{path}-wal")
    written = 0
    largest = 0
    try:
        deadline = time.monotonic() + 3.0
        i = 0
        while time.monotonic() < deadline:
            async with database.transaction() as tx:
                await repos.assistants.insert(
                    tx, AssistantRow(id=f"asst_{i:06d}", created_at=i, model="m", instructions="x" * 8000)
                )
            written += 8000
            i += 1
            largest = max(largest, os.stat(wal).st_size)
            await asyncio.sleep(0)  # the checkpoint task's turns, but never a pause of the writes
        assert written > 20_000_000, f"only {written} bytes written: the check needs more writes"
        assert largest < written / 4, f"the WAL reached {largest} bytes for {written} bytes written"
    finally:
        await database.close()
