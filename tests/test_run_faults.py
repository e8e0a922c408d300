"""Faults during runs: every run ends with a clean last_error and frees its thread (issue 8, defects 3-6)."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from conftest import PG_ADMIN_URL, PYGENTIC, _reset_pg, connect, make_settings, running
from fake_upstream import FakeUpstream
from google.protobuf import struct_pb2
from runhelpers import assistant_and_thread, collect, delta_text, messages_of, names, wait_for_status
from sqlalchemy import event, text

from pygentic.config import RunSettings
from pygentic.logs import LogfmtFormatter
from pygentic.proto.v1 import assistants_pb2, messages_pb2
from pygentic.proto.v1 import runs_pb2 as pb
from pygentic.runtime.pg_bus import APPLICATION_NAME

SQL_WORDS = ("SQL", "UPDATE", "INSERT", "SELECT", "messages", "sqlite", "OperationalError")


async def test_a_full_disk_mid_run_fails_the_run_and_frees_its_thread(
    tmp_path: Path, upstream: FakeUpstream
) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'full.db'}", upstream, runs=RunSettings(lease=0.6))
    async with running(settings) as app, connect(app) as stubs:
        cap: dict[str, int | None] = {"pages": None}

        def limit_pages(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
            # SQLite's own "database or disk is full" once the file would grow past `pages`.
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA max_page_count = {cap['pages'] or 1_073_741_823}")
            cursor.close()

        event.listen(app.db.write_engine.sync_engine, "checkout", limit_pages)  # the ORM's writing connection
        assistant, thread = await assistant_and_thread(stubs, "bulk:30:0.1")  # 480 kB of text over 3 s
        run = await stubs.runs.CreateRun(pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id))
        for _ in range(100):
            if len(await messages_of(stubs, thread.id, run_id=run.id)) == 1:
                break
            await asyncio.sleep(0.05)
        async with app.db.read() as session:
            pages = (await session.exec(text("PRAGMA page_count"))).one()[0]  # type: ignore[call-overload]
        cap["pages"] = int(pages)  # the disk is full from now on
        driver = app.db.driver_connection()  # the hot path's writing connection
        driver.execute(f"PRAGMA max_page_count = {pages}")
        await asyncio.sleep(2.5)  # the run's next writes fail
        cap["pages"] = None  # space is back
        driver.execute("PRAGMA max_page_count = 1073741823")
        ended = await wait_for_status(stubs, thread.id, run.id, within=15)
        assert ended.status == "failed", ended
        assert ended.last_error.code == "server_error"
        assert not any(word in ended.last_error.message for word in SQL_WORDS), ended.last_error.message
        # The thread is free again: a message and a new run.
        await stubs.messages.CreateMessage(
            messages_pb2.CreateMessageRequest(
                thread_id=thread.id, role="user", content=struct_pb2.Value(string_value="again")
            )
        )
        await stubs.assistants.UpdateAssistant(_model(assistant.id, "echo"))
        again = await stubs.runs.CreateRun(
            pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id)
        )
        assert (await wait_for_status(stubs, thread.id, again.id)).status == "completed"


def _model(assistant_id: str, model: str) -> assistants_pb2.UpdateAssistantRequest:
    return assistants_pb2.UpdateAssistantRequest(assistant_id=assistant_id, model=model)


async def test_a_dribbling_upstream_hits_the_run_deadline(tmp_path: Path, upstream: FakeUpstream) -> None:
    # One word every 0.4 s: each chunk comes well within the 2 s chunk timeout, the whole would take 40 s.
    settings = make_settings(f"sqlite:///{tmp_path / 'd.db'}", upstream, runs=RunSettings(deadline=1.5))
    async with running(settings) as app, connect(app) as stubs:
        assistant, thread = await assistant_and_thread(stubs, "words:100:0.4")
        started = asyncio.get_running_loop().time()
        events = await collect(
            stubs.runs.StreamRun(pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id))
        )
        elapsed = asyncio.get_running_loop().time() - started
        assert names(events)[-2:] == ["thread.run.failed", "done"]
        failed = events[-2].run
        assert failed.last_error.code == "server_error"
        assert "time limit of 1.5 seconds" in failed.last_error.message
        assert elapsed < 6
        (message,) = await messages_of(stubs, thread.id, run_id=failed.id)
        assert message.status == "incomplete"
        assert message.content[0].text.value == delta_text(events)  # what was streamed is kept


def test_credentials_in_urls_never_reach_logs_or_check(tmp_path: Path) -> None:
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        "",
        0,
        "HTTP Request: POST %s",
        ("http://alice:s3cret@llm.internal/v1/chat/completions",),
        None,
    )
    record.base_url = "https://token123@api.example/v1"
    line = LogfmtFormatter().format(record)
    assert "s3cret" not in line and "token123" not in line
    assert "http://alice:***@llm.internal/v1/chat/completions" in line

    config = tmp_path / "c.toml"
    config.write_text(
        '[connectors.database]\nurl = "postgresql://app:dbpass@db/x"\n'
        '[connectors.llm_service]\ntype = "openai"\nbase_url = "http://bob:llmpass@vllm:8000/v1"\n'
        '[connectors.serverless_service]\nendpoint = "https://hook:toolpass@tools.example/run"\n'
    )
    out = subprocess.run(
        [PYGENTIC, "check", "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    for secret in ("dbpass", "llmpass", "toolpass"):
        assert secret not in out.stdout
    assert "http://bob:***@vllm:8000/v1" in out.stdout


# ----------------------------------------------------------------------------- the PostgreSQL bus


async def _terminate_bus_connections(*apps: Any) -> int:
    """pg_terminate_backend on these servers' LISTEN connections (found by their backend pids)."""
    pids = [app.bus._conn.get_server_pid() for app in apps]
    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = $1 AND pid = ANY($2::int[])",
            APPLICATION_NAME,
            pids,
        )
    finally:
        await conn.close()
    return sum(1 for row in rows if row[0])


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """An empty PostgreSQL database (the test skips with a reason when PostgreSQL is absent)."""
    _reset_pg(pg_database)
    return pg_database


@pytest.mark.postgres
async def test_the_bus_reconnects_and_a_cross_replica_watch_sees_the_real_end(
    pg_url: str, upstream: FakeUpstream
) -> None:
    settings = make_settings(pg_url, upstream)
    async with (
        running(settings) as first,
        connect(first) as a,
        running(settings) as second,
        connect(second) as b,
    ):
        assistant, thread = await assistant_and_thread(a, "words:60:0.05")  # 3 s of text
        run = await a.runs.CreateRun(pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id))
        await wait_for_status(a, thread.id, run.id, ("in_progress",))
        watched: list[pb.RunEvent] = []

        async def watch() -> None:
            async for e in b.runs.WatchRun(pb.WatchRunRequest(thread_id=thread.id, run_id=run.id)):
                watched.append(e)

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(0.6)
        assert await _terminate_bus_connections(first, second) == 2  # both LISTEN connections, mid-stream
        await asyncio.wait_for(watcher, 20)
        final = await wait_for_status(a, thread.id, run.id)
        assert final.status == "completed"
        assert names(watched)[-2:] == ["thread.run.completed", "done"]  # the real end, not in_progress
        stored = (await messages_of(a, thread.id, run_id=run.id))[0]
        completed = [e.message for e in watched if e.event == "thread.message.completed"]
        assert completed and completed[0].content[0].text.value == stored.content[0].text.value
        assert first.bus.reconnects >= 1 and second.bus.reconnects >= 1  # type: ignore[attr-defined]

        # Live events flow between the replicas again: a new run watched from the other one.
        await a.messages.CreateMessage(
            messages_pb2.CreateMessageRequest(
                thread_id=thread.id, role="user", content=struct_pb2.Value(string_value="more")
            )
        )
        await a.assistants.UpdateAssistant(_model(assistant.id, "words:40:0.05"))
        run2 = await a.runs.CreateRun(pb.CreateRunRequest(thread_id=thread.id, assistant_id=assistant.id))
        await wait_for_status(a, thread.id, run2.id, ("in_progress",))
        await asyncio.sleep(0.3)
        again = await collect(b.runs.WatchRun(pb.WatchRunRequest(thread_id=thread.id, run_id=run2.id)))
        stored2 = (await messages_of(a, thread.id, run_id=run2.id))[0].content[0].text.value
        assert delta_text(again) == stored2
        assert names(again)[-2:] == ["thread.run.completed", "done"]
