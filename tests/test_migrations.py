"""Schema migrations: the migrated schema is exactly the models', and a database written by the previous
release (0.1.0, before migrations; ``tests/data/previous_release``, made by
``scripts/write_release_fixture.py``) is upgraded at startup and reads back intact, on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import subprocess
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from conftest import PYGENTIC, make_settings, sdk_of
from fake_upstream import FakeUpstream
from sqlmodel import SQLModel, select
from threaded_server import ThreadedServer

from pygentic.config import DatabaseSettings, FilesSettings
from pygentic.storage import Database, migrations
from pygentic.storage.tables import RunRow

FIXTURE = Path(__file__).parent / "data" / "previous_release"
DOCUMENT = b"Pygentic keeps every thread in its database. The capital of France is Paris.\n"


def _differences(connection: sa.Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


async def test_the_migrated_schema_is_the_models(database_url: str) -> None:
    db = Database(DatabaseSettings(url=database_url))
    try:
        await db.create_schema()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_differences) == []  # a model change without its migration fails here
            assert await conn.run_sync(migrations.current) == migrations.head()
        await db.create_schema()  # a second start finds nothing to do
    finally:
        await db.close()


def _restore_postgresql(url: str) -> None:
    """Load the previous release's pg_dump (plain SQL, without psql's backslash commands) into ``url``."""
    script = "\n".join(
        line for line in (FIXTURE / "postgresql.sql").read_text().splitlines() if not line.startswith("\\")
    )

    async def load() -> None:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
            await conn.execute(script)
        finally:
            await conn.close()

    asyncio.run(load())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def previous_release(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    """A database (its URL) and files directory as the previous release left them."""
    files = tmp_path / "files"
    if request.param == "sqlite":
        shutil.copy(FIXTURE / "pygentic.sqlite3", tmp_path / "pygentic.db")
        shutil.copytree(FIXTURE / "files", files)
        return f"sqlite:///{tmp_path / 'pygentic.db'}", files
    url: str = request.getfixturevalue("pg_database")
    _restore_postgresql(url)
    shutil.copytree(FIXTURE / "pgfiles", files)
    return url, files


def test_a_previous_release_database_is_upgraded_and_reads_back_intact(
    previous_release: tuple[str, Path], upstream: FakeUpstream, tmp_path: Path
) -> None:
    url, files = previous_release
    settings = dataclasses.replace(make_settings(url, upstream), files=FilesSettings(dir=str(files)))
    with ThreadedServer(settings) as server:
        client = sdk_of(server)
        assistants = {a.name: a for a in client.beta.assistants.list().data}
        fixture = assistants["Fixture"]
        assert fixture.metadata == {"release": "prev"} and fixture.instructions == "Be brief."
        assert [t.type for t in fixture.tools] == ["function"] and fixture.tools[
            0
        ].function.name == "get_weather"  # type: ignore[union-attr]

        # The runs (the API lists them per thread; the fixture's threads are found through them).
        runs_by_status = {row.status: row for row in server.call(_all_runs(server.app.db))}
        completed = runs_by_status["completed"]
        thread_id = completed.thread_id
        run = client.beta.threads.runs.retrieve(completed.id, thread_id=thread_id)
        assert run.status == "completed" and run.usage is not None and run.assistant_id == fixture.id
        messages = client.beta.threads.messages.list(thread_id, order="asc").data
        question, answer = messages
        assert question.content[0].text.value == "Hello fixture"  # type: ignore[union-attr]
        assert question.content[1].type == "image_url" and question.content[1].image_url.detail == "low"  # type: ignore[union-attr]
        assert answer.content[0].text.value.startswith("Echo: Hello fixture")  # type: ignore[union-attr]
        steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread_id).data
        assert [s.type for s in steps] == ["message_creation"]
        assert client.beta.threads.retrieve(thread_id).metadata == {"kind": "fixture"}
        # The waiting run still waits, or expired on time (the fixture is older than its 10 minutes).
        assert {"requires_action", "expired"} & set(runs_by_status)

        # The file, its bytes, its vector store and search over it.
        (document,) = [f for f in client.files.list().data if f.filename == "fixture.txt"]
        assert client.files.content(document.id).read() == DOCUMENT
        (store,) = client.vector_stores.list().data
        assert store.name == "fixture store" and store.file_counts.completed == 1
        found = client.vector_stores.search(store.id, query="What is the capital of France?").data
        assert found and "Paris" in found[0].content[0].text

        # The old thread goes on: a new run sees its history and answers.
        client.beta.threads.messages.create(thread_id, role="user", content="And after the upgrade?")
        later = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=fixture.id)
        assert later.status == "completed"
        last = client.beta.threads.messages.list(thread_id).data[0]
        assert last.content[0].text.value == "Echo: And after the upgrade?"  # type: ignore[union-attr]
        # A new kind of object (this release's) is stored beside the old ones.
        keyed = client.beta.threads.create(extra_headers={"Idempotency-Key": "after-upgrade"})
        assert client.beta.threads.create(extra_headers={"Idempotency-Key": "after-upgrade"}).id == keyed.id

    config = tmp_path / "connectors.toml"
    config.write_text(f'[connectors.database]\nurl = "{url}"\n')
    current = subprocess.run(
        [PYGENTIC, "db", "current", "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert current.returncode == 0 and f"database revision {migrations.head()}: up to date" in current.stdout


async def _all_runs(db: Database) -> list[RunRow]:
    async with db.read() as session:
        return list((await session.exec(select(RunRow))).all())


def test_migration_commands(tmp_path: Path) -> None:
    config = tmp_path / "connectors.toml"
    config.write_text(f'[connectors.database]\nurl = "sqlite:///{tmp_path / "m.db"}"\n')

    def pygentic(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PYGENTIC, "db", *args, "--config", str(config)], capture_output=True, text=True, timeout=60
        )

    history = pygentic("history")
    assert history.returncode == 0 and history.stdout.splitlines()[0].startswith("0001: Baseline")
    assert f"{migrations.head()} (head):" in history.stdout
    before = pygentic("current")
    assert before.returncode == 0 and "database revision (none): behind" in before.stdout
    upgraded = pygentic("upgrade")
    assert (
        upgraded.returncode == 0 and f"database revision {migrations.head()}: up to date" in upgraded.stdout
    )
