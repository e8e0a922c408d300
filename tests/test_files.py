"""Files through both doors: the openai SDK (multipart upload, content, list, delete) and the gRPC stubs
(chunked upload of 50 MB, streamed download), on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import httpx
import openai
import pytest
from conftest import Stubs, connect, expect_status, make_settings, running, sdk_of, with_files
from fake_upstream import FakeUpstream
from threaded_server import ThreadedServer

from pygentic.config import Settings
from pygentic.proto.v1 import files_pb2, files_pb2_grpc

MB = 1024 * 1024


def _settings(
    database_url: str, upstream: FakeUpstream, files_dir: Path, max_bytes: int = 512 * MB
) -> Settings:
    return with_files(make_settings(database_url, upstream), files_dir, max_bytes)


@pytest.fixture
def server(tmp_path: Path, upstream: FakeUpstream) -> Iterator[ThreadedServer]:
    settings = _settings(f"sqlite:///{tmp_path / 'f.db'}", upstream, tmp_path / "blobs", max_bytes=4 * MB)
    with ThreadedServer(settings) as running_server:
        yield running_server


@pytest.fixture
def client(server: ThreadedServer) -> Iterator[openai.OpenAI]:
    with sdk_of(server) as sdk:
        yield sdk


def test_sdk_upload_retrieve_list_content_delete(client: openai.OpenAI, tmp_path: Path) -> None:
    notes = client.files.create(file=("notes.txt", b"hello world"), purpose="assistants")
    assert notes.id.startswith("file-") and notes.object == "file"
    assert (notes.bytes, notes.filename, notes.purpose, notes.status) == (
        11,
        "notes.txt",
        "assistants",
        "processed",
    )
    assert notes.expires_at is None
    image = client.files.create(
        file=("chart.png", io.BytesIO(os.urandom(3 * MB))),
        purpose="vision",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    assert image.expires_at == image.created_at + 3600
    assert client.files.retrieve(notes.id) == notes
    assert [f.id for f in client.files.list()] == [image.id, notes.id]
    assert [f.id for f in client.files.list(purpose="assistants")] == [notes.id]
    assert [f.id for f in client.files.list(order="asc", limit=1)] == [notes.id, image.id]  # auto-paging
    assert client.files.content(notes.id).read() == b"hello world"
    deleted = client.files.delete(notes.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (notes.id, True, "file")
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(notes.id)
    with pytest.raises(openai.NotFoundError):
        client.files.content(notes.id)
    assert not (tmp_path / "blobs" / notes.id).exists()  # the bytes went with it


def test_bad_uploads_are_refused_and_names_never_become_paths(
    client: openai.OpenAI, server: ThreadedServer, tmp_path: Path
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.files.create(file=("a.txt", b"x"), purpose="fine-tune")  # type: ignore[arg-type]
    assert info.value.body["param"] == "purpose"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError):
        client.files.create(
            file=("a.txt", b"x"), purpose="assistants", expires_after={"anchor": "created_at", "seconds": 5}
        )
    with httpx.Client(base_url=server.base_url) as http:
        response = http.post("/files", data={"purpose": "assistants"}, files={"other": ("a", b"x")})
        assert response.status_code == 400 and response.json()["error"]["param"] == "file"
        response = http.post("/files", json={"purpose": "assistants"})
        assert response.status_code == 400
    with pytest.raises(openai.BadRequestError) as info:  # over the 4 MB limit, within the body's slack
        client.files.create(file=("big.bin", b"x" * (4 * MB + 1)), purpose="assistants")
    assert "larger than the limit" in info.value.message
    with pytest.raises(openai.APIStatusError) as big:  # declared far over the limit: refused unread
        client.files.create(file=("big.bin", b"x" * (5 * MB)), purpose="assistants")
    assert big.value.status_code == 413
    sneaky = client.files.create(file=("../../../etc/passwd", b"root"), purpose="user_data")
    assert sneaky.filename == "../../../etc/passwd"
    assert sorted(p.name for p in (tmp_path / "blobs").iterdir()) == [".incoming", sneaky.id]
    assert list((tmp_path / "blobs" / ".incoming").iterdir()) == []  # refused uploads left nothing


async def _upload(stubs_channel: grpc.aio.Channel, header: files_pb2.FileUploadHeader, data: bytes) -> object:
    stub = files_pb2_grpc.FilesStub(stubs_channel)

    async def messages() -> AsyncIterator[files_pb2.UploadFileRequest]:
        yield files_pb2.UploadFileRequest(header=header)
        for start in range(0, len(data), MB):
            yield files_pb2.UploadFileRequest(chunk=data[start : start + MB])

    return await stub.UploadFile(messages())


async def test_grpc_chunked_upload_and_streamed_download_of_50_mb(
    database_url: str, upstream: FakeUpstream, tmp_path: Path
) -> None:
    data = os.urandom(50 * MB)
    settings = _settings(database_url, upstream, tmp_path / "blobs")
    async with running(settings) as app, connect(app) as stubs:
        stub = files_pb2_grpc.FilesStub(stubs.channel)
        header = files_pb2.FileUploadHeader(filename="data.bin", purpose="assistants")
        uploaded = await _upload(stubs.channel, header, data)
        assert uploaded.bytes == len(data) and uploaded.filename == "data.bin"  # type: ignore[attr-defined]
        digest = hashlib.sha256()
        received = chunks = 0
        async for part in stub.GetFileContent(files_pb2.GetFileContentRequest(file_id=uploaded.id)):  # type: ignore[attr-defined]
            digest.update(part.data)
            received += len(part.data)
            chunks += 1
        assert received == len(data) and chunks >= 50
        assert digest.digest() == hashlib.sha256(data).digest()
        listed = await stub.ListFiles(files_pb2.ListFilesRequest(purpose="assistants"))
        assert [f.id for f in listed.data] == [uploaded.id]  # type: ignore[attr-defined]
    async with running(settings) as app, connect(app) as stubs:  # survives a restart
        got = await files_pb2_grpc.FilesStub(stubs.channel).GetFile(
            files_pb2.GetFileRequest(file_id=uploaded.id)
        )  # type: ignore[attr-defined]
        assert got.bytes == len(data)


async def test_grpc_upload_errors(database_url: str, upstream: FakeUpstream, tmp_path: Path) -> None:
    settings = _settings(database_url, upstream, tmp_path / "blobs", max_bytes=2 * MB)
    async with running(settings) as app, connect(app) as stubs:
        stub = files_pb2_grpc.FilesStub(stubs.channel)

        async def chunks_only() -> AsyncIterator[files_pb2.UploadFileRequest]:
            yield files_pb2.UploadFileRequest(chunk=b"abc")

        await expect_status(stub.UploadFile(chunks_only()), grpc.StatusCode.INVALID_ARGUMENT, "header")
        header = files_pb2.FileUploadHeader(filename="x.bin", purpose="assistants")
        await expect_status(
            _upload(stubs.channel, header, b"x" * (3 * MB)), grpc.StatusCode.INVALID_ARGUMENT, "limit"
        )
        await expect_status(
            _upload(stubs.channel, files_pb2.FileUploadHeader(filename="", purpose="assistants"), b"x"),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        await expect_status(
            stub.GetFile(files_pb2.GetFileRequest(file_id="file-nope")),
            grpc.StatusCode.NOT_FOUND,
            "file-nope",
        )
        await expect_status(
            stub.DeleteFile(files_pb2.DeleteFileRequest(file_id="file-nope")), grpc.StatusCode.NOT_FOUND
        )
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async for _ in stub.GetFileContent(files_pb2.GetFileContentRequest(file_id="file-nope")):
                pass
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert not list((tmp_path / "blobs" / ".incoming").iterdir())
        assert await _count(stubs) == 0


async def _count(stubs: Stubs) -> int:
    listed = await files_pb2_grpc.FilesStub(stubs.channel).ListFiles(files_pb2.ListFilesRequest(limit=100))
    return len(listed.data)
