"""Vector stores: the openai SDK's flows (create, upload_and_poll, search, files, delete), the gRPC
service on SQLite and PostgreSQL, attribute filters, failures, and ingestion that survives a dead worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import openai
import pytest
from conftest import Stubs, connect, expect_status, make_settings, running, sdk_client, with_files
from fake_upstream import FakeUpstream
from google.protobuf import struct_pb2

from pygentic.config import Settings
from pygentic.proto.v1 import resources_pb2 as res
from pygentic.proto.v1 import threads_pb2
from pygentic.proto.v1 import vector_stores_pb2 as pb
from pygentic.proto.v1 import vector_stores_pb2_grpc as pb_grpc
from pygentic.storage.tables import ChunkRow, VectorStoreFileRow

DOCS = {
    "paris.md": "# Paris\n\nParis is the capital of France. The Eiffel Tower was completed in 1889.",
    "rivers.txt": "The Nile is the longest river in Africa. The Amazon carries the most water of any river.",
    "bread.html": "<html><body><p>To bake bread, mix flour, water, yeast and salt, then knead.</p></body>",
}


def _settings(database_url: str, upstream: FakeUpstream, tmp_path: Path) -> Settings:
    return with_files(make_settings(database_url, upstream), tmp_path / "blobs")


@pytest.fixture
def client(tmp_path: Path, upstream: FakeUpstream) -> Iterator[openai.OpenAI]:
    with sdk_client(_settings(f"sqlite:///{tmp_path / 'vs.db'}", upstream, tmp_path)) as sdk:
        yield sdk


def test_sdk_knowledge_base_flow(client: openai.OpenAI) -> None:
    store = client.vector_stores.create(name="kb", metadata={"team": "docs"})
    assert store.id.startswith("vs_") and store.status == "completed" and store.file_counts.total == 0
    for name, text in DOCS.items():
        added = client.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=(name, text.encode()), poll_interval_ms=50
        )
        assert added.status == "completed" and added.usage_bytes > 0 and added.last_error is None
        assert added.chunking_strategy is not None and added.chunking_strategy.type == "static"
    store = client.vector_stores.retrieve(store.id)
    assert (store.file_counts.completed, store.file_counts.total, store.status) == (3, 3, "completed")
    assert store.usage_bytes == sum(f.usage_bytes for f in client.vector_stores.files.list(store.id))

    results = client.vector_stores.search(store.id, query="When was the Eiffel Tower built?")
    assert results.data[0].filename == "paris.md" and "1889" in results.data[0].content[0].text
    assert all(a.score >= b.score for a, b in zip(results.data, results.data[1:], strict=False))
    best = client.vector_stores.search(store.id, query="how do I make bread at home", max_num_results=1)
    assert [r.filename for r in best.data] == ["bread.html"]
    assert (
        client.vector_stores.search(store.id, query="bread", ranking_options={"score_threshold": 0.99}).data
        == []
    )

    failed = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("photo.png", b"\x89PNG\r\n"), poll_interval_ms=50
    )
    assert failed.status == "failed" and failed.last_error is not None
    assert failed.last_error.code == "unsupported_file"
    counts = client.vector_stores.retrieve(store.id).file_counts
    assert (counts.completed, counts.failed, counts.total) == (3, 1, 4)
    assert [f.id for f in client.vector_stores.files.list(store.id, filter="failed")] == [failed.id]

    removed = client.vector_stores.files.delete(file_id=failed.id, vector_store_id=store.id)
    assert removed.deleted and removed.object == "vector_store.file.deleted"
    assert client.files.retrieve(failed.id).id == failed.id  # the file itself stays
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.retrieve(file_id=failed.id, vector_store_id=store.id)
    assert client.vector_stores.update(store.id, name="renamed").name == "renamed"
    assert [s.id for s in client.vector_stores.list()] == [store.id]
    assert client.vector_stores.delete(store.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.search(store.id, query="x")


def test_sdk_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.vector_stores.create(file_ids=["file-nope"])
    assert info.value.body["param"] == "file_ids[0]"  # type: ignore[index]
    store = client.vector_stores.create()
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.create(vector_store_id=store.id, file_id="file-nope")
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.search(store.id, query="")
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.search(store.id, query="x", max_num_results=51)
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.search(store.id, query="x", filters={"type": "near", "key": "a", "value": 1})  # type: ignore[typeddict-item]
    file = client.files.create(file=("a.txt", b"text"), purpose="assistants")
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.files.create(
            vector_store_id=store.id,
            file_id=file.id,
            chunking_strategy={
                "type": "static",
                "static": {"max_chunk_size_tokens": 50, "chunk_overlap_tokens": 0},
            },
        )
    with pytest.raises(openai.NotFoundError):
        client.beta.assistants.create(
            model="echo", tool_resources={"file_search": {"vector_store_ids": ["vs_nope"]}}
        )
    assistant = client.beta.assistants.create(
        model="echo",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    assert assistant.tool_resources.file_search.vector_store_ids == [store.id]  # type: ignore[union-attr]


async def _wait_completed(
    stub: pb_grpc.VectorStoresStub, store_id: str, within: float = 60
) -> pb.ListVectorStoreFilesResponse:
    deadline = time.monotonic() + within
    while True:
        store = await stub.GetVectorStore(pb.GetVectorStoreRequest(vector_store_id=store_id))
        if store.file_counts.in_progress == 0:
            return await stub.ListVectorStoreFiles(pb.ListVectorStoreFilesRequest(vector_store_id=store_id))
        assert time.monotonic() < deadline, store
        await asyncio.sleep(0.05)


async def _add_documents(stubs: Stubs, stub: pb_grpc.VectorStoresStub, store_id: str) -> dict[str, str]:
    ids = {}
    for i, (name, text) in enumerate(DOCS.items()):
        ids[name] = await stubs.upload(text.encode(), name)
        attributes = struct_pb2.Struct()
        attributes.update({"topic": name.split(".")[0], "year": 2000 + i, "public": i != 1})
        await stub.CreateVectorStoreFile(
            pb.CreateVectorStoreFileRequest(
                vector_store_id=store_id, file_id=ids[name], attributes=attributes
            )
        )
    return ids


async def test_grpc_search_with_attribute_filters(
    database_url: str, upstream: FakeUpstream, tmp_path: Path
) -> None:
    async with running(_settings(database_url, upstream, tmp_path)) as app, connect(app) as stubs:
        stub = pb_grpc.VectorStoresStub(stubs.channel)
        store = await stub.CreateVectorStore(pb.CreateVectorStoreRequest(name="kb"))
        ids = await _add_documents(stubs, stub, store.id)
        files = await _wait_completed(stub, store.id)
        assert {f.status for f in files.data} == {"completed"} and len(files.data) == 3

        async def search(query: str, filters: object = None) -> list[str]:
            request = pb.SearchVectorStoreRequest(vector_store_id=store.id)
            request.query.string_value = query
            if filters is not None:
                request.filters.struct_value.update(filters)  # type: ignore[arg-type]
            response = await stub.SearchVectorStore(request)
            assert response.object == "vector_store.search_results.page"
            return [r.filename for r in response.data]

        assert (await search("the longest river"))[0] == "rivers.txt"
        assert await search("the longest river", {"type": "eq", "key": "public", "value": True}) == [
            n for n in await search("the longest river") if n != "rivers.txt"
        ]
        assert set(await search("anything", {"type": "gte", "key": "year", "value": 2001})) <= {
            "rivers.txt",
            "bread.html",
        }
        either = {
            "type": "or",
            "filters": [
                {"type": "eq", "key": "topic", "value": "paris"},
                {"type": "lt", "key": "year", "value": 2000},
            ],
        }
        assert set(await search("capital city", either)) <= {"paris.md"}
        assert await search("x", {"type": "eq", "key": "missing", "value": "y"}) == []
        # Re-adding a file is harmless; unknown ids are NOT_FOUND.
        again = await stub.CreateVectorStoreFile(
            pb.CreateVectorStoreFileRequest(vector_store_id=store.id, file_id=ids["paris.md"])
        )
        assert again.status == "completed"
        await expect_status(
            stub.GetVectorStore(pb.GetVectorStoreRequest(vector_store_id="vs_nope")),
            grpc.StatusCode.NOT_FOUND,
        )
        thread = await stubs.threads.CreateThread(
            threads_pb2.CreateThreadRequest(
                tool_resources=res.ToolResourcesInput(
                    file_search=res.FileSearchResourcesInput(vector_store_ids=[store.id])
                )
            )
        )
        assert list(thread.tool_resources.file_search.vector_store_ids) == [store.id]
        deleted = await stub.DeleteVectorStore(pb.DeleteVectorStoreRequest(vector_store_id=store.id))
        assert deleted.deleted
        async with app.db.read() as session:
            assert (await session.exec(ChunkRow.__table__.select())).all() == []  # type: ignore[attr-defined, call-overload]


async def test_ingestion_resumes_a_dead_workers_file_without_duplicates(
    database_url: str, upstream: FakeUpstream, tmp_path: Path
) -> None:
    settings = _settings(database_url, upstream, tmp_path)
    async with running(settings) as app, connect(app) as stubs:
        await app.operations.ingestion.close()  # this process ingests nothing for now
        stub = pb_grpc.VectorStoresStub(stubs.channel)
        store = await stub.CreateVectorStore(pb.CreateVectorStoreRequest())
        file_id = await stubs.upload(DOCS["paris.md"].encode(), "paris.md")
        await stub.CreateVectorStoreFile(
            pb.CreateVectorStoreFileRequest(vector_store_id=store.id, file_id=file_id)
        )
        async with app.db.write() as session:
            # A worker that died mid-file: it held the lease and had written a stale chunk.
            row = (
                await session.exec(VectorStoreFileRow.__table__.select())  # type: ignore[attr-defined, call-overload]
            ).first()
            await session.exec(
                VectorStoreFileRow.__table__.update()  # type: ignore[attr-defined, call-overload]
                .where(VectorStoreFileRow.__table__.c.seq == row.seq)  # type: ignore[attr-defined]
                .values(owner="dead-worker", lease_expires_at=time.time() - 1)
            )
            session.add(
                ChunkRow(
                    vector_store_id=store.id,
                    file_id=file_id,
                    position=0,
                    text="stale",
                    tokens=1,
                    embedding=np.zeros(384, dtype=np.float32).tobytes(),
                )
            )
        counts = (await stub.GetVectorStore(pb.GetVectorStoreRequest(vector_store_id=store.id))).file_counts
        assert (counts.in_progress, counts.total) == (1, 1)
    async with running(settings) as app, connect(app) as stubs:  # "the restart": another worker takes it up
        stub = pb_grpc.VectorStoresStub(stubs.channel)
        files = await _wait_completed(stub, store.id)
        assert [f.status for f in files.data] == ["completed"]
        async with app.db.read() as session:
            texts = [r.text for r in (await session.exec(ChunkRow.__table__.select())).all()]  # type: ignore[attr-defined, call-overload]
        assert texts == [DOCS["paris.md"]]  # the stale chunk replaced, nothing twice
        counts = (await stub.GetVectorStore(pb.GetVectorStoreRequest(vector_store_id=store.id))).file_counts
        assert (counts.completed, counts.in_progress, counts.total) == (1, 0, 1)


def test_sdk_file_batches(client: openai.OpenAI) -> None:
    store = client.vector_stores.create(name="batches")
    batch = client.vector_stores.file_batches.upload_and_poll(
        store.id,
        files=[("a.txt", b"alpha text about apples"), ("b.md", b"# Beta\n\nbananas"), ("c.png", b"\x89PNG")],
        poll_interval_ms=50,
    )
    assert batch.id.startswith("vsfb_") and batch.object == "vector_store.files_batch"
    assert (batch.file_counts.completed, batch.file_counts.failed, batch.file_counts.total) == (2, 1, 3)
    assert batch.status == "completed"
    listed = client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)
    assert sorted(f.status for f in listed) == ["completed", "completed", "failed"]
    failed = client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id, filter="failed")
    assert [f.last_error.code for f in failed if f.last_error] == ["unsupported_file"]
    # Cancelling a finished batch changes nothing.
    assert client.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id).status == "completed"
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.file_batches.retrieve("vsfb_nope", vector_store_id=store.id)
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.file_batches.create(store.id)


async def test_cancelling_a_batch_stops_its_files(
    database_url: str, upstream: FakeUpstream, tmp_path: Path
) -> None:
    async with running(_settings(database_url, upstream, tmp_path)) as app, connect(app) as stubs:
        await app.operations.ingestion.close()  # nothing is ingested until the worker runs again
        stub = pb_grpc.VectorStoresStub(stubs.channel)
        store = await stub.CreateVectorStore(pb.CreateVectorStoreRequest())
        file_ids = [await stubs.upload(text.encode(), name) for name, text in DOCS.items()]
        batch = await stub.CreateFileBatch(
            pb.CreateFileBatchRequest(vector_store_id=store.id, file_ids=file_ids)
        )
        assert (batch.status, batch.file_counts.in_progress, batch.file_counts.total) == ("in_progress", 3, 3)
        cancelled = await stub.CancelFileBatch(
            pb.CancelFileBatchRequest(vector_store_id=store.id, batch_id=batch.id)
        )
        assert (cancelled.status, cancelled.file_counts.cancelled, cancelled.file_counts.in_progress) == (
            "cancelled",
            3,
            0,
        )
        await app.operations.ingestion.start()
        await asyncio.sleep(1.5)  # the worker finds nothing to do
        store = await stub.GetVectorStore(pb.GetVectorStoreRequest(vector_store_id=store.id))
        assert (store.file_counts.cancelled, store.file_counts.completed, store.status) == (3, 0, "completed")
        async with app.db.read() as session:
            assert (await session.exec(ChunkRow.__table__.select())).all() == []  # type: ignore[attr-defined, call-overload]


def test_deleting_a_file_removes_it_from_its_stores(client: openai.OpenAI) -> None:
    store = client.vector_stores.create()
    added = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("paris.md", DOCS["paris.md"].encode()), poll_interval_ms=50
    )
    assert client.vector_stores.search(store.id, query="Eiffel Tower").data
    assert client.files.delete(added.id).deleted
    assert client.vector_stores.search(store.id, query="Eiffel Tower").data == []
    assert client.vector_stores.retrieve(store.id).file_counts.total == 0
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.retrieve(file_id=added.id, vector_store_id=store.id)
