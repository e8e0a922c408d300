"""A server killed with SIGKILL in the middle of ingestion: after a restart every file ends completed,
the counts are exact and no chunk is indexed twice (a real subprocess, a real kill)."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
from conftest import serve_process

from pygentic.proto.v1 import files_pb2, files_pb2_grpc
from pygentic.proto.v1 import vector_stores_pb2 as pb
from pygentic.proto.v1 import vector_stores_pb2_grpc as pb_grpc

FILES = 4
WORDS = "river mountain city harbor market winter summer engine library garden bridge station".split()


def _text(seed: int) -> bytes:
    words = [WORDS[(i * 7 + seed) % len(WORDS)] for i in range(6000)]  # ~15 chunks of 800 tokens
    return f"Document {seed}. ".encode() + " ".join(words).encode()


async def _upload(files: files_pb2_grpc.FilesStub, name: str, data: bytes) -> str:
    async def parts() -> AsyncIterator[files_pb2.UploadFileRequest]:
        yield files_pb2.UploadFileRequest(
            header=files_pb2.FileUploadHeader(filename=name, purpose="assistants")
        )
        yield files_pb2.UploadFileRequest(chunk=data)

    return (await files.UploadFile(parts())).id


async def test_a_kill_during_ingestion_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "ingest.db"
    config = f'[connectors.database]\nurl = "sqlite:///{db}"\n'
    with serve_process(tmp_path, config) as (proc, port):
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stores = pb_grpc.VectorStoresStub(channel)
            files = files_pb2_grpc.FilesStub(channel)
            ids = [await _upload(files, f"doc{i}.txt", _text(i)) for i in range(FILES)]
            store = await stores.CreateVectorStore(pb.CreateVectorStoreRequest(file_ids=ids))
            deadline = time.monotonic() + 60
            while True:  # kill it once the first file is indexed and the others are not
                counts = (
                    await stores.GetVectorStore(pb.GetVectorStoreRequest(vector_store_id=store.id))
                ).file_counts
                if counts.completed >= 1:
                    break
                assert time.monotonic() < deadline, "ingestion did not start"
                await asyncio.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert counts.in_progress >= 1, "everything was ingested before the kill; the test proves nothing"

    with serve_process(tmp_path, config) as (proc, port):
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stores = pb_grpc.VectorStoresStub(channel)
            deadline = time.monotonic() + 120  # the dead worker's 30 s lease lapses first
            while True:
                after = await stores.GetVectorStore(pb.GetVectorStoreRequest(vector_store_id=store.id))
                if after.file_counts.in_progress == 0:
                    break
                assert time.monotonic() < deadline, f"still in progress: {after.file_counts}"
                await asyncio.sleep(0.2)
            assert (after.file_counts.completed, after.file_counts.failed, after.file_counts.total) == (
                FILES,
                0,
                FILES,
            )
            listed = await stores.ListVectorStoreFiles(
                pb.ListVectorStoreFilesRequest(vector_store_id=store.id)
            )
            assert sorted(f.id for f in listed.data) == sorted(ids)
            assert after.usage_bytes == sum(f.usage_bytes for f in listed.data)

    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT file_id, position FROM chunks WHERE vector_store_id = ?", (store.id,)
        ).fetchall()
        per_file = dict(
            conn.execute("SELECT file_id, max(position) + 1 FROM chunks GROUP BY file_id").fetchall()
        )
    assert len(rows) == len(set(rows)), "a chunk was indexed twice"
    assert set(per_file) == set(ids)
    assert len(rows) == sum(per_file.values())  # positions 0..n-1 of every file, each once
