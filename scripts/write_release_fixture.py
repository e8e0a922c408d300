"""Write a database the way a given release of Pygentic does, with data in it, for the upgrade tests.

Run it with that release's code first on the import path (a git worktree of the release), e.g.:

    git worktree add /tmp/prev <release commit>
    export PYTHONPATH=/tmp/prev:/tmp/prev/tests
    .venv/bin/python scripts/write_release_fixture.py sqlite:///out/pygentic.sqlite3 out/files
    .venv/bin/python scripts/write_release_fixture.py postgresql://postgres@127.0.0.1:5432/fixture out/pgfiles
    pg_dump --no-owner --no-acl --inserts fixture > out/postgresql.sql

It starts that release's server in-process (the tests' fake upstream answers its runs; the embedded
embedding model indexes the file) and makes, through the openai SDK: an assistant with tools and metadata,
a thread whose messages have text and an image URL, a completed run (with its steps), a run waiting for
tool outputs, an uploaded file and a vector store holding it. ``tests/test_migrations.py`` checks every one
of them after the upgrade.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time

import openai
from fake_upstream import FakeUpstream

from pygentic.app import Pygentic, ServeOptions
from pygentic.config import parse_settings

DOCUMENT = b"Pygentic keeps every thread in its database. The capital of France is Paris.\n"


def main(database_url: str, files_dir: str) -> None:
    upstream = FakeUpstream().start()
    settings = parse_settings(
        {
            "connectors": {
                "database": {"url": database_url},
                "files": {"dir": files_dir},
                "llm_service": {"type": "openai", "base_url": upstream.url, "timeout": 5, "max_retries": 0},
            }
        }
    )
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    app = Pygentic(settings, ServeOptions(grpc_port=0, http_port=0, shutdown_grace=2))
    asyncio.run_coroutine_threadsafe(app.start(), loop).result(60)
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{app.http_port}/v1", api_key="x", max_retries=0)
        write(client)
    finally:
        asyncio.run_coroutine_threadsafe(app.stop(), loop).result(60)
        upstream.stop()


def write(client: openai.OpenAI) -> None:
    weather = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    assistant = client.beta.assistants.create(
        model="echo", name="Fixture", instructions="Be brief.", tools=[weather], metadata={"release": "prev"}
    )
    thread = client.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Hello fixture"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
                ],
            }
        ],
        metadata={"kind": "fixture"},
    )
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed", run
    tools = client.beta.assistants.create(model="tools", tools=[weather])
    waiting_thread = client.beta.threads.create(messages=[{"role": "user", "content": "Weather?"}])
    waiting = client.beta.threads.runs.create_and_poll(thread_id=waiting_thread.id, assistant_id=tools.id)
    assert waiting.status == "requires_action", waiting
    uploaded = client.files.create(file=("fixture.txt", DOCUMENT), purpose="assistants")
    store = client.vector_stores.create(name="fixture store", file_ids=[uploaded.id])
    deadline = time.monotonic() + 120
    while client.vector_stores.retrieve(store.id).file_counts.completed < 1:
        assert time.monotonic() < deadline, "the file was not ingested"
        time.sleep(0.2)
    print(
        f"wrote assistant={assistant.id} thread={thread.id} run={run.id} file={uploaded.id} store={store.id}"
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
