"""Storage on SQLite and PostgreSQL: schema creation, SQLite tuning, stable pagination."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from pygentic.config import DatabaseSettings
from pygentic.storage import CursorNotFound, Database, PageParams
from pygentic.storage import repositories as repos
from pygentic.storage.database import async_url
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


async def test_an_older_schema_gets_the_new_nullable_columns(database_url: str) -> None:
    database = Database(DatabaseSettings(url=database_url))
    await database.create_schema()
    async with database.write() as session:
        await session.exec(text("ALTER TABLE runs DROP COLUMN lease_expires_at"))  # type: ignore[call-overload]
        await session.exec(text("ALTER TABLE runs DROP COLUMN owner"))  # type: ignore[call-overload]
    await database.create_schema()
    async with database.read() as session:
        rows = (await session.exec(text("SELECT owner, lease_expires_at FROM runs"))).all()  # type: ignore[call-overload]
        assert rows == []
    await database.close()
